"""No-code TensorFlow scoring (written by fake-azure): a SavedModel served as TensorFlow Serving serves it,
which Azure's no-code TensorFlow image runs. The body is Serving's REST predict request:

* row format ``{"signature_name": "...", "instances": [...]}`` -> ``{"predictions": [...]}``
  (each instance the input's value, or an object of named inputs);
* columnar format ``{"inputs": value or {name: value}}`` -> ``{"outputs": value or {name: value}}``.

Errors are Serving's ``{"error": "..."}`` with status 400."""
import json
import os

import tensorflow as tf
from azureml.contrib.services.aml_response import AMLResponse

DEFAULT_SIGNATURE = "serving_default"
loaded = None


class BadRequest(Exception):
    pass


def init():
    global loaded
    model_dir = os.environ["AZUREML_MODEL_DIR"]
    found = sorted(folder for folder, _, names in os.walk(model_dir) if "saved_model.pb" in names)
    if len(found) != 1:
        raise RuntimeError("A no-code TensorFlow model must be one SavedModel folder; found %d saved_model.pb "
                           "under %s" % (len(found), model_dir))
    loaded = tf.saved_model.load(found[0])


def _inputs_of(signature):
    return signature.structured_input_signature[1]  # name -> TensorSpec


def _call(signature, named):
    specs = _inputs_of(signature)
    missing = sorted(set(specs) - set(named))
    if missing:
        raise BadRequest("Missing input(s) %s; the signature takes %s." % (missing, sorted(specs)))
    feeds = {name: tf.constant(named[name], dtype=spec.dtype) for name, spec in specs.items()}
    return {name: value.numpy() for name, value in signature(**feeds).items()}


def _rows(signature, instances):
    names = list(_inputs_of(signature))
    if len(names) == 1 and not (instances and isinstance(instances[0], dict)):
        named = {names[0]: instances}
    else:
        if not all(isinstance(row, dict) for row in instances):
            raise BadRequest("With several inputs each instance must be an object of named inputs.")
        named = {name: [row.get(name) for row in instances] for name in names}
    outputs = _call(signature, named)
    if len(outputs) == 1:
        return {"predictions": next(iter(outputs.values())).tolist()}
    keys = sorted(outputs)
    count = len(instances)
    return {"predictions": [{key: outputs[key][i].tolist() for key in keys} for i in range(count)]}


def _columns(signature, inputs):
    names = list(_inputs_of(signature))
    named = inputs if isinstance(inputs, dict) else {names[0]: inputs} if len(names) == 1 else None
    if named is None:
        raise BadRequest("With several inputs, \"inputs\" must be an object of named inputs.")
    outputs = _call(signature, named)
    if len(outputs) == 1:
        return {"outputs": next(iter(outputs.values())).tolist()}
    return {"outputs": {key: value.tolist() for key, value in outputs.items()}}


def run(raw_data):
    try:
        body = json.loads(raw_data)
        if not isinstance(body, dict) or ("instances" in body) == ("inputs" in body):
            raise BadRequest('The request must name either "instances" (row format) or "inputs" (columnar format).')
        name = body.get("signature_name") or DEFAULT_SIGNATURE
        if name not in loaded.signatures:
            raise BadRequest("Serving signature name: \"%s\" not found in signature def" % name)
        signature = loaded.signatures[name]
        if "instances" in body:
            if not isinstance(body["instances"], list):
                raise BadRequest('"instances" must be a list.')
            return _rows(signature, body["instances"])
        return _columns(signature, body["inputs"])
    except (BadRequest, ValueError, TypeError, tf.errors.InvalidArgumentError) as exc:
        return AMLResponse(json.dumps({"error": str(exc)}), 400)
