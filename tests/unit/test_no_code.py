"""emulator/deploy/no_code.py: which records are no-code ones, the checks, and the curated environments as
the environment resolver reads them (wheels only; TensorFlow 2 pinned to the model's version)."""
from __future__ import annotations

import pytest

from emulator.deploy import no_code
from emulator.environments import resolve_spec
from emulator.errors import BadRequest, ValidationFailed


def _spec(framework: str, version: str | None):
    return resolve_spec(no_code.environment({"framework": framework, "frameworkVersion": version}))


@pytest.mark.parametrize("version, requirement", [
    ("2.15.1", "tensorflow-cpu==2.15.*"), ("2.21", "tensorflow-cpu==2.21.*"),
    # TensorFlow 1 has no wheels for today's Pythons; TF 2 loads its SavedModels.
    ("1.14.0", "tensorflow-cpu"), (None, "tensorflow-cpu"), ("latest", "tensorflow-cpu")])
def test_tensorflow_2_is_pinned_to_the_models_framework_version(version: str | None, requirement: str) -> None:
    spec = _spec("TensorFlow", version)
    assert requirement in spec.requirements
    assert "tensorflow-cpu" in spec.binary_only and "azureml-inference-server-http" in spec.requirements


def test_sklearn_and_onnx_environments_are_wheels_only_and_unpinned() -> None:
    sklearn = _spec("ScikitLearn", "0.19.1")
    assert {"scikit-learn", "numpy", "scipy", "joblib", "pandas"} <= set(sklearn.requirements)
    assert {"scikit-learn", "numpy", "scipy", "joblib", "pandas"} == set(sklearn.binary_only)
    onnx = _spec("Onnx", "1.3")  # ONNX's version, not ONNX Runtime's: no pin
    assert {"onnxruntime", "numpy"} <= set(onnx.requirements) and "onnxruntime" in onnx.binary_only


def test_only_a_v1_record_of_one_supported_model_without_an_entry_script_is_no_code() -> None:
    model = {"id": "m:1", "name": "m", "version": 1, "framework": "Onnx"}
    body = {"environmentImageRequest": {"modelIds": ["m:1"]}, "models": [model], "fakeAzure": {}}
    assert no_code.model_of(body) == model
    code = {**body, "environmentImageRequest": {"driverProgram": "score.py", "assets": [{"id": "a"}]}}
    v2 = {**body, "fakeAzure": {"launch": {"models": []}}}
    custom = {**body, "models": [{**model, "framework": "Custom"}]}
    assert [no_code.model_of(b) for b in (code, v2, custom)] == [None, None, None]


def test_the_checks_refuse_what_the_sdk_refuses_and_multi() -> None:
    request = {"modelIds": ["m:1"]}
    no_code.check({"driverProgram": "score.py", "assets": [{"id": "a"}]}, [])  # an entry script: not ours
    no_code.check(request, [{"framework": "ScikitLearn"}])
    with pytest.raises(ValidationFailed, match="zero or multiple models"):
        no_code.check(request, [{"framework": "Onnx"}, {"framework": "Onnx"}])
    with pytest.raises(ValidationFailed, match="model_framework set to PyTorch. Default environments"):
        no_code.check(request, [{"framework": "PyTorch"}])
    with pytest.raises(BadRequest, match="Multi is not emulated"):
        no_code.check(request, [{"framework": "Multi"}])
