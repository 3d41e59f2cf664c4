# The seed's entry script shape: init() loads the registered model, run() scores a JSON request.
import json
import os

from azureml.core.model import Model


def init():
    global weights
    model_path = Model.get_model_path("tf-dnn-mnist")
    with open(os.path.join(model_path, "weights.json")) as handle:
        weights = json.load(handle)


def run(raw_data):
    rows = json.loads(raw_data)["data"]
    return [int(sum(w * x for w, x in zip(weights["w"], row)) > weights["threshold"]) for row in rows]
