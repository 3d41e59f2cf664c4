"""No-code deployment: a service of one registered model and no entry script, as Azure deploys a model
registered with ``model_framework`` ScikitLearn, Onnx or TensorFlow and deployed without an InferenceConfig.

The SDK sends an environment image request of ``modelIds`` alone
(``build_and_validate_no_code_environment_image_request``). Azure then provides what the user left out,
and so do we: a curated environment (the framework's packages: conda entries, so wheels only) and an
entry script of ours (scoring/no_code/), copied into the service's folder of the home, never into the
user's. The deployment core runs both like any other environment and entry script.

The scoring formats are those of Azure's no-code servers (docs/parity.md, "No-code deployment"):
scikit-learn ``{"data": [[...]], "method": ...}``, ONNX Runtime Server's JSON ``PredictRequest``,
TensorFlow Serving's REST predict request."""
from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from scoring import no_code as drivers

from ..environments.definition import DEFAULT_CPU_IMAGE
from ..errors import BadRequest, ValidationFailed

# azureml.core.model.Model.Framework values.
SCIKITLEARN, ONNX, TENSORFLOW, MULTI = "ScikitLearn", "Onnx", "TensorFlow", "Multi"
# Model._SUPPORTED_FRAMEWORKS_FOR_NO_CODE_DEPLOY, in the SDK's order (its error text lists them so).
SDK_SUPPORTED = [ONNX, SCIKITLEARN, TENSORFLOW, MULTI]
_MAJOR_MINOR = re.compile(r"^(\d+)\.(\d+)(\.\d+)?$")


@dataclass(frozen=True)
class CuratedEnvironment:
    """One framework's default environment and entry script."""

    name: str
    driver: str  # file name in scoring/no_code/
    packages: tuple[str, ...]  # conda entries: installed from wheels only
    pip: tuple[str, ...]
    pinned: str | None = None  # the package pinned to the model's framework version (major.minor)
    pin_from_major: int = 0  # older framework versions are served by the newest release instead

    def definition(self, framework_version: str | None) -> dict[str, Any]:
        """The serialized Environment (the SDK's wire format) the deployment is built from."""
        packages = list(self.packages)
        version = _MAJOR_MINOR.match(framework_version or "")
        if self.pinned and version and int(version.group(1)) >= self.pin_from_major:
            # conda's "=X.Y" is a version prefix (pip's ==X.Y.*): the framework version the model was saved with.
            packages = [f"{p}={version.group(1)}.{version.group(2)}" if p == self.pinned else p for p in packages]
        return {
            "name": self.name, "version": "1",
            "python": {"userManagedDependencies": False,
                       "condaDependencies": {"name": "project_environment", "channels": ["conda-forge"],
                                             "dependencies": [*packages, {"pip": list(self.pip)}]}},
            "docker": {"baseImage": DEFAULT_CPU_IMAGE},
            "environmentVariables": {},
        }


_SERVER = ("azureml-defaults",)
CURATED = {
    # The packages Azure's no-code scikit-learn image lists (how-to-deploy-no-code-deployment), less dill and
    # sklearn_pandas (docs/parity.md); scikit-learn is not pinned there either.
    SCIKITLEARN: CuratedEnvironment("AzureML-NoCode-ScikitLearn", "no_code_sklearn.py",
                                    ("scikit-learn", "numpy", "scipy", "joblib", "pandas"),
                                    (*_SERVER, "inference-schema[numpy-support]")),
    # ONNX Runtime runs any ONNX graph; the framework version is ONNX's, not the runtime's: not a pin.
    ONNX: CuratedEnvironment("AzureML-NoCode-Onnx", "no_code_onnx.py", ("onnxruntime", "numpy"), _SERVER),
    # Azure serves the TensorFlow Serving version the model names (any tag of tensorflow/serving). TensorFlow 1
    # has no wheels for the Pythons replicas run; TensorFlow 2 loads TF1 SavedModels, so 1.x is not pinned.
    TENSORFLOW: CuratedEnvironment("AzureML-NoCode-TensorFlow", "no_code_tensorflow.py",
                                   ("tensorflow-cpu", "numpy"), _SERVER, pinned="tensorflow-cpu", pin_from_major=2),
}


def is_no_code(request: Mapping[str, Any] | None) -> bool:
    """Whether an environment image request is a no-code one: no entry script, no assets."""
    request = request or {}
    return request.get("driverProgram") is None and not request.get("assets")


def check(request: Mapping[str, Any] | None, models: list[dict[str, Any]]) -> None:
    """400 unless a no-code request deploys exactly one model of a framework with a curated environment.

    The first two texts are the SDK's (it checks the same client-side); Multi passes the SDK's check but
    has no default environment here (docs/parity.md)."""
    if not is_no_code(request):
        return
    if len(models) != 1:
        raise ValidationFailed("You must provide an InferenceConfig when deploying zero or multiple models.")
    framework = models[0].get("framework")
    if framework not in SDK_SUPPORTED:
        raise ValidationFailed("You must provide an InferenceConfig when deploying a model with model_framework "
                               f"set to {framework}. Default environments are only provided for these frameworks: "
                               f"{SDK_SUPPORTED}.")
    if framework not in CURATED:  # Azure's server answer here is unknown: a 400 the SDK reports as a bad response
        raise BadRequest(f"No-code deployment of a model with model_framework set to {framework} is not "
                               "emulated by the local cloud: provide an InferenceConfig with an entry script. "
                               f"Default environments are provided here for: {sorted(CURATED)}.")


def model_of(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The one model of a no-code SDK v1 service record (checked when it was created), else None."""
    models = body.get("models") or []
    if not is_no_code(body.get("environmentImageRequest")) or (body.get("fakeAzure") or {}).get("launch"):
        return None  # an entry script of the user's, or a front end that laid its files out itself (SDK v2)
    if len(models) != 1 or models[0].get("framework") not in CURATED:
        return None
    return dict(models[0])


def environment(model: Mapping[str, Any]) -> dict[str, Any]:
    """The curated environment of a no-code deployment of ``model`` (a checked one)."""
    return CURATED[model["framework"]].definition(model.get("frameworkVersion"))


def write_entry_script(folder: Path, model: Mapping[str, Any]) -> Path:
    """Copy the framework's entry script into ``folder`` (the service's, in the home); its path."""
    driver = CURATED[model["framework"]].driver
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / driver
    shutil.copyfile(Path(drivers.__file__).with_name(driver), target)
    return target
