# The seed's entry script. The only change: TensorFlow 2 keeps the TensorFlow 1 API (graphs,
# sessions, import_meta_graph) under tensorflow.compat.v1, with v2 behaviour (eager) switched off.
import json
import os

import numpy as np
import tensorflow.compat.v1 as tf
from azureml.core.model import Model

tf.disable_v2_behavior()

def init():
    global X, output, sess
    tf.reset_default_graph()
    model_root = Model.get_model_path('tf-dnn-mnist')
    saver = tf.train.import_meta_graph(os.path.join(model_root, 'mnist-tf.model.meta'))
    X = tf.get_default_graph().get_tensor_by_name("network/X:0")
    output = tf.get_default_graph().get_tensor_by_name("network/output/MatMul:0")

    sess = tf.Session()
    saver.restore(sess, os.path.join(model_root, 'mnist-tf.model'))

def run(raw_data):
    data = np.array(json.loads(raw_data)['data'])
    # make prediction
    out = output.eval(session=sess, feed_dict={X: data})
    y_hat = np.argmax(out, axis=1)
    return y_hat.tolist()
