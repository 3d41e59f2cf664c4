"""No-code ONNX scoring (written by fake-azure): ONNX Runtime Server's JSON ``PredictRequest``, as Azure's
no-code ONNX image took it::

    {"inputs": {"<input name>": {"dims": ["1", "3"], "dataType": 1, "rawData": "<base64>"}},
     "outputFilter": ["<output name>"]}

(``rawData`` little-endian, or the typed field: ``floatData``, ``int32Data``, ``int64Data``,
``doubleData``, ``uint64Data``). The answer is a ``PredictResponse``: ``{"outputs": {name: tensor}}``
with ``rawData``; errors are the server's ``{"error_code": 400, "error_message": ...}``."""
import base64
import json
import os

import numpy as np
import onnxruntime
from azureml.contrib.services.aml_response import AMLResponse
from onnxruntime.capi import onnxruntime_pybind11_state as ORT_ERRORS

# onnx.TensorProto.DataType -> numpy, and the typed field of each (protobuf's JSON names).
DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16, 6: np.int32, 7: np.int64,
          9: np.bool_, 10: np.float16, 11: np.float64, 12: np.uint32, 13: np.uint64}
TYPED_FIELDS = {1: "floatData", 6: "int32Data", 5: "int32Data", 4: "int32Data", 3: "int32Data", 2: "int32Data",
                9: "int32Data", 7: "int64Data", 11: "doubleData", 12: "uint64Data", 13: "uint64Data"}
ONNX_TYPES = {"tensor(float)": 1, "tensor(uint8)": 2, "tensor(int8)": 3, "tensor(uint16)": 4, "tensor(int16)": 5,
              "tensor(int32)": 6, "tensor(int64)": 7, "tensor(bool)": 9, "tensor(float16)": 10,
              "tensor(double)": 11, "tensor(uint32)": 12, "tensor(uint64)": 13}
session = None


class BadRequest(Exception):
    pass


def init():
    global session
    model_dir = os.environ["AZUREML_MODEL_DIR"]
    files = sorted(os.path.join(folder, name) for folder, _, names in os.walk(model_dir) for name in names
                   if name.lower().endswith(".onnx"))
    if len(files) != 1:
        raise RuntimeError("A no-code ONNX model must hold one .onnx file; found %d under %s" % (len(files), model_dir))
    session = onnxruntime.InferenceSession(files[0], providers=["CPUExecutionProvider"])


def to_array(name, tensor):
    data_type = tensor.get("dataType")
    if data_type not in DTYPES:
        raise BadRequest("Input %s: dataType %r is not supported." % (name, data_type))
    dims = [int(d) for d in tensor.get("dims") or []]
    dtype = np.dtype(DTYPES[data_type]).newbyteorder("<")
    if "rawData" in tensor:
        array = np.frombuffer(base64.b64decode(tensor["rawData"]), dtype=dtype)
    else:
        values = tensor.get(TYPED_FIELDS.get(data_type, ""), [])
        array = np.asarray([int(v) for v in values] if data_type in (7, 12, 13) else values).astype(dtype)
    if array.size != int(np.prod(dims)):
        raise BadRequest("Input %s: %d values do not fill dims %s." % (name, array.size, dims))
    return array.reshape(dims)


def to_tensor(array):
    array = np.ascontiguousarray(array)
    data_type = next((code for code, dtype in DTYPES.items() if np.dtype(dtype) == array.dtype), None)
    if data_type is None:
        raise BadRequest("Output of dtype %s cannot be sent as a tensor." % array.dtype)
    raw = array.astype(array.dtype.newbyteorder("<")).tobytes()
    return {"dims": [str(d) for d in array.shape], "dataType": data_type,
            "rawData": base64.b64encode(raw).decode("ascii")}


def _error(status, message):
    return AMLResponse(json.dumps({"error_code": status, "error_message": message}), status)


def run(raw_data):
    try:
        body = json.loads(raw_data)
        if not isinstance(body, dict) or not isinstance(body.get("inputs"), dict):
            raise BadRequest('The request must be a PredictRequest: {"inputs": {name: tensor}, "outputFilter": [...]}')
        expected = {meta.name: meta for meta in session.get_inputs()}
        missing = sorted(set(expected) - set(body["inputs"]))
        if missing:
            raise BadRequest("Missing input(s): %s; the model's inputs are %s." % (missing, sorted(expected)))
        feeds = {}
        for name, meta in expected.items():
            array = to_array(name, body["inputs"][name])
            if ONNX_TYPES.get(meta.type) != body["inputs"][name].get("dataType"):
                raise BadRequest("Input %s: the model expects %s." % (name, meta.type))
            feeds[name] = array
        names = [meta.name for meta in session.get_outputs()]
        wanted = body.get("outputFilter") or names
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            raise BadRequest("Unknown output(s) in outputFilter: %s." % unknown)
        values = session.run(list(wanted), feeds)
        return {"outputs": {name: to_tensor(value) for name, value in zip(wanted, values)}}
    except (BadRequest, ValueError, TypeError) as exc:
        return _error(400, str(exc))
    except (ORT_ERRORS.Fail, ORT_ERRORS.InvalidArgument) as exc:  # the graph refused the feeds
        return _error(400, str(exc))
