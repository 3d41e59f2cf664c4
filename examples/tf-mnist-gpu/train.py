"""Train the seed's TensorFlow DNN for MNIST-shaped digits, offline, and save it as the seed expects.

The seed (Azure ML docs: deploy a model for GPU inference) serves a TensorFlow 1 checkpoint,
`mnist-tf.model` with its `.meta` graph, whose input is `network/X:0` (784 floats in [0, 1]) and
whose output is `network/output/MatMul:0` (10 class scores). This script builds that graph with
`tf.compat.v1`, so the seed's entry script works with TensorFlow 2.

No data is downloaded: scikit-learn's digits (8x8, shipped inside the package) are upscaled to
28x28 like MNIST. Writes into outputs/ next to this file:

  outputs/model/mnist-tf.model.{meta,index,data-*}, outputs/model/checkpoint   (register this folder)
  outputs/test_data.json   held-out rows ({"data": [[784 floats]...], "labels": [...]})

Run it with:  fake-azure run -- python train.py      (or plain python: it does not use azureml)"""
from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL_FILE = "mnist-tf.model"
N_INPUTS, N_H1, N_H2, N_OUTPUTS = 28 * 28, 100, 100, 10


def load_digits_28x28(seed: int = 0, test_fraction: float = 0.2):
    """scikit-learn's digits as MNIST-shaped rows: 8x8 -> 24x24 (each pixel 3x3) -> padded to 28x28, in [0, 1]."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = digits.images / 16.0  # 0..16 -> 0..1, exact in binary floating point
    big = np.kron(images, np.ones((1, 3, 3)))
    big = np.pad(big, ((0, 0), (2, 2), (2, 2)))
    x = big.reshape(len(big), N_INPUTS).astype(np.float32)
    y = digits.target.astype(np.int64)
    order = np.random.RandomState(seed).permutation(len(x))
    n_test = int(len(x) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return (x[train], y[train]), (x[test], y[test])


def train(output_dir: str = os.path.join(HERE, "outputs"), epochs: int = 20, batch_size: int = 50,
          learning_rate: float = 0.001, seed: int = 0, verbose: bool = True) -> dict:
    """Train, evaluate on the held-out rows, save the checkpoint and the test set; return a summary."""
    import tensorflow as tf

    v1 = tf.compat.v1
    started = time.perf_counter()
    (x_train, y_train), (x_test, y_test) = load_digits_28x28(seed)
    model_dir = os.path.join(output_dir, "model")
    os.makedirs(model_dir, exist_ok=True)

    graph = tf.Graph()
    with graph.as_default():  # a TF1 graph, whatever the process's eager setting
        v1.set_random_seed(seed)
        init = v1.glorot_uniform_initializer(seed=seed)
        with tf.name_scope("network"):
            X = v1.placeholder(tf.float32, shape=(None, N_INPUTS), name="X")
            y = v1.placeholder(tf.int64, shape=(None,), name="y")
            with tf.name_scope("h1"):
                w1 = tf.Variable(init((N_INPUTS, N_H1)), name="kernel")
                b1 = tf.Variable(tf.zeros((N_H1,)), name="bias")
                h1 = tf.nn.relu(tf.matmul(X, w1) + b1)
            with tf.name_scope("h2"):
                w2 = tf.Variable(init((N_H1, N_H2)), name="kernel")
                b2 = tf.Variable(tf.zeros((N_H2,)), name="bias")
                h2 = tf.nn.relu(tf.matmul(h1, w2) + b2)
            with tf.name_scope("output"):
                # The seed reads `network/output/MatMul:0`: the output layer has no bias, so the
                # MatMul is the logits.
                w3 = tf.Variable(init((N_H2, N_OUTPUTS)), name="kernel")
                output = tf.matmul(h2, w3, name="MatMul")
        assert X.name == "network/X:0" and output.name == "network/output/MatMul:0", (X.name, output.name)
        with tf.name_scope("train"):
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=output))
            train_op = v1.train.AdamOptimizer(learning_rate).minimize(loss)
        with tf.name_scope("eval"):
            accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(output, 1), y), tf.float32))
        saver = v1.train.Saver()

        config = v1.ConfigProto(intra_op_parallelism_threads=2, inter_op_parallelism_threads=1)
        with v1.Session(graph=graph, config=config) as sess:
            sess.run(v1.global_variables_initializer())
            rng = np.random.RandomState(seed)
            for epoch in range(epochs):
                order = rng.permutation(len(x_train))
                for start in range(0, len(order), batch_size):
                    batch = order[start:start + batch_size]
                    sess.run(train_op, feed_dict={X: x_train[batch], y: y_train[batch]})
                if verbose and (epoch + 1) % 5 == 0:
                    acc = sess.run(accuracy, feed_dict={X: x_train, y: y_train})
                    print(f"epoch {epoch + 1:2d}: training accuracy {acc:.3f}", flush=True)
            train_acc = float(sess.run(accuracy, feed_dict={X: x_train, y: y_train}))
            test_acc = float(sess.run(accuracy, feed_dict={X: x_test, y: y_test}))
            saver.save(sess, os.path.join(model_dir, MODEL_FILE))

    with open(os.path.join(output_dir, "test_data.json"), "w") as handle:
        json.dump({"data": x_test.tolist(), "labels": y_test.tolist()}, handle)
    seconds = time.perf_counter() - started
    if verbose:
        print(f"trained on {len(x_train)} rows, {epochs} epochs, in {seconds:.1f}s (TensorFlow {tf.__version__})")
        print(f"accuracy on {len(x_test)} held-out rows: {test_acc:.3f} (training {train_acc:.3f}; chance 0.100)")
        print(f"saved {os.path.relpath(os.path.join(model_dir, MODEL_FILE), os.getcwd())}(.meta) and "
              f"{os.path.relpath(os.path.join(output_dir, 'test_data.json'), os.getcwd())}")
    return {"model_dir": model_dir, "test_accuracy": test_acc, "train_accuracy": train_acc,
            "x_test": x_test, "y_test": y_test, "seconds": seconds}


if __name__ == "__main__":
    result = train(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "outputs"))
    sys.exit(0 if result["test_accuracy"] > 0.5 else 1)
