# The v1 example's entry script (../tf-mnist-gpu/score.py) for an SDK v2 deployment. Same init()/run()
# contract; the one difference is where the checkpoint is: v2 has no Model.get_model_path, and a model
# registered from a folder keeps that folder's name under AZUREML_MODEL_DIR (Model(path="outputs/model")
# -> $AZUREML_MODEL_DIR/model/mnist-tf.model...), where v1 puts the files at the model path itself.
import json
import os

import numpy as np
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()


def init():
    global X, output, sess
    tf.reset_default_graph()
    model_root = os.path.join(os.environ["AZUREML_MODEL_DIR"], "model")
    saver = tf.train.import_meta_graph(os.path.join(model_root, "mnist-tf.model.meta"))
    X = tf.get_default_graph().get_tensor_by_name("network/X:0")
    output = tf.get_default_graph().get_tensor_by_name("network/output/MatMul:0")

    sess = tf.Session()
    saver.restore(sess, os.path.join(model_root, "mnist-tf.model"))


def run(raw_data):
    data = np.array(json.loads(raw_data)["data"])
    out = output.eval(session=sess, feed_dict={X: data})
    y_hat = np.argmax(out, axis=1)
    return y_hat.tolist()
