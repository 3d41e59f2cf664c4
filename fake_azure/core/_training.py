"""Stand-ins for azureml-core's training classes (``Experiment``, ``Run``, ``ScriptRunConfig``,
``RunConfiguration``, ``AmlCompute``, ...): training is out of scope for the local cloud (docs/parity.md).

They import, so a deploy script that imports ``Experiment`` beside ``Workspace`` but never trains still
runs; the first use (constructing one, or any class attribute such as ``Run.get_context`` or
``AmlCompute.provisioning_configuration``) raises :class:`TrainingNotEmulated`, which names the gap."""
from __future__ import annotations

from typing import Any

from ..exceptions import UserErrorException

_MESSAGE = ("{name} is part of Azure Machine Learning training, which fake-azure does not emulate: the local "
            "cloud covers model deployment only (docs/parity.md, 'Training'). Train elsewhere (on Azure, or with "
            "plain Python) and register the result with Model.register(workspace, model_path, model_name).")


class TrainingNotEmulated(UserErrorException):
    """A training class or function of azureml-core was used against the local cloud."""


class _NotEmulated(type):
    """Metaclass of the stand-ins: instantiating one, or reading any public class attribute, raises."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        raise TrainingNotEmulated(_MESSAGE.format(name=cls._sdk_name))

    def __getattr__(cls, attribute: str) -> Any:  # only reached for attributes the class lacks
        if attribute.startswith("_"):
            raise AttributeError(attribute)
        raise TrainingNotEmulated(_MESSAGE.format(name="{}.{}".format(cls._sdk_name, attribute)))


def _stand_in(name: str, module: str) -> type:
    return _NotEmulated(name, (object,), {"_sdk_name": name, "__module__": module,
                                          "__doc__": "Not emulated: " + _MESSAGE.format(name=name)})


Experiment = _stand_in("Experiment", "fake_azure.core.experiment")
Run = _stand_in("Run", "fake_azure.core.run")
ScriptRun = _stand_in("ScriptRun", "fake_azure.core.script_run")
ScriptRunConfig = _stand_in("ScriptRunConfig", "fake_azure.core.script_run_config")
RunConfiguration = _stand_in("RunConfiguration", "fake_azure.core.runconfig")
AmlCompute = _stand_in("AmlCompute", "fake_azure.core.compute.amlcompute")
ComputeInstance = _stand_in("ComputeInstance", "fake_azure.core.compute.computeinstance")


def get_run(*args: Any, **kwargs: Any) -> Any:
    """Not emulated: raises TrainingNotEmulated."""
    raise TrainingNotEmulated(_MESSAGE.format(name="get_run"))
