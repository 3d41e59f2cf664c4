"""No-code scikit-learn scoring (written by fake-azure): Azure's format, ``{"data": [[...]], "method": ...}``.

``method`` defaults to ``predict_proba`` where the model has it, else ``predict`` (Azure's documented
default); the answer is the method's result as a JSON list."""
import json
import os

import joblib
import numpy as np
from azureml.contrib.services.aml_response import AMLResponse

MODEL_SUFFIXES = (".pkl", ".pickle", ".joblib", ".sav")
METHODS = ("predict", "predict_proba", "predict_log_proba", "decision_function", "transform")
model = None


def model_file(model_dir):
    """The registered file: the only one, or the only pickle among several."""
    files = sorted(os.path.join(folder, name) for folder, _, names in os.walk(model_dir) for name in names)
    if len(files) != 1:
        files = [path for path in files if path.lower().endswith(MODEL_SUFFIXES)]
    if len(files) != 1:
        raise RuntimeError("A no-code scikit-learn model must be one pickled file (%s); found %d under %s"
                           % (", ".join(MODEL_SUFFIXES), len(files), model_dir))
    return files[0]


def init():
    global model
    model = joblib.load(model_file(os.environ["AZUREML_MODEL_DIR"]))


def _bad_request(message):
    return AMLResponse(json.dumps({"error": message}), 400)


def run(raw_data):
    try:
        body = json.loads(raw_data)
    except ValueError as exc:
        return _bad_request("The request body is not JSON: %s" % exc)
    if not isinstance(body, dict) or "data" not in body:
        return _bad_request('The request body must be a JSON object with a "data" list of rows.')
    method = body.get("method") or ("predict_proba" if hasattr(model, "predict_proba") else "predict")
    if method not in METHODS or not hasattr(model, method):
        return _bad_request("The model has no method %r." % method)
    result = getattr(model, method)(np.asarray(body["data"]))
    return np.asarray(result).tolist()
