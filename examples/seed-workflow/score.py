# The seed's entry script shape: init() loads the registered model, run() scores a JSON request.
import json
import os

import numpy as np
from azureml.core.model import Model


def init():
    global weights, bias
    model_root = Model.get_model_path("tf-dnn-mnist")
    with open(os.path.join(model_root, "weights.json")) as handle:
        model = json.load(handle)
    weights, bias = np.array(model["w"]), model["b"]


def run(raw_data):
    data = np.array(json.loads(raw_data)["data"])
    # make prediction
    y_hat = (data @ weights + bias > 0).astype(int)
    return y_hat.tolist()
