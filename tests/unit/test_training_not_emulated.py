"""Training (``Experiment``, ``Run``, ``ScriptRunConfig``, ``RunConfiguration``, ``AmlCompute``, ...) is out of
scope (docs/parity.md): with the hook active, every import path the real SDK offers for them works, so a
deploy script that imports them beside ``Workspace`` runs; their first use raises ``TrainingNotEmulated``, a
``UserErrorException`` that names the gap."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# (module, name) pairs users import training classes from, all importable from the real azureml-core 1.61.
TRAINING_IMPORTS = [
    ("azureml.core", "Experiment"), ("azureml.core", "Run"), ("azureml.core", "ScriptRunConfig"),
    ("azureml.core", "RunConfiguration"), ("azureml.core", "ScriptRun"), ("azureml.core", "get_run"),
    ("azureml.core.experiment", "Experiment"), ("azureml.core.run", "Run"), ("azureml.core.run", "get_run"),
    ("azureml.core.script_run_config", "ScriptRunConfig"), ("azureml.core.runconfig", "RunConfiguration"),
    ("azureml.core.script_run", "ScriptRun"), ("azureml.core.compute", "AmlCompute"),
    ("azureml.core.compute", "ComputeInstance"), ("azureml.core.compute.amlcompute", "AmlCompute"),
    ("azureml.core.compute.computeinstance", "ComputeInstance"),
]
USES = [
    ("Experiment(ws, 'train')", "Experiment is part of Azure Machine Learning training"),
    ("ScriptRunConfig(source_directory='.', script='train.py')", "ScriptRunConfig is part of"),
    ("Run.get_context()", "Run.get_context is part of"),
    ("AmlCompute.provisioning_configuration(vm_size='STANDARD_D2_V2', max_nodes=4)",
     "AmlCompute.provisioning_configuration is part of"),
    ("RunConfiguration()", "RunConfiguration is part of"),
    ("get_run(None, 'id')", "get_run is part of"),
]


def _run(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAKE_AZURE_")}
    env["FAKE_AZURE_HOME"] = str(tmp_path / "home")  # nothing here talks to the daemon
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=120)


@pytest.mark.parametrize("module, name", TRAINING_IMPORTS)
def test_the_real_sdk_offers_this_import(module, name):
    import importlib

    assert hasattr(importlib.import_module(module), name)  # the list above is the SDK's, not ours


def test_training_imports_work_and_uses_name_the_gap(tmp_path):
    imports = "\n".join(f"from {module} import {name}" for module, name in TRAINING_IMPORTS)
    uses = "\n".join(f"""
        try:
            {use}
        except UserErrorException as exc:
            assert type(exc).__name__ == 'TrainingNotEmulated', type(exc)
            assert {expected!r} in exc.message and 'docs/parity.md' in exc.message, exc.message
            print('refused', {use!r})
        """ for use, expected in USES)
    result = _run(f"""
        import fake_azure
        fake_azure.activate()
        {textwrap.indent(imports, '        ').strip()}
        from azureml.core import Workspace
        from azureml.exceptions import UserErrorException
        ws = None
        assert not isinstance(object(), Experiment) and Experiment.__name__ == 'Experiment'
        {textwrap.indent(textwrap.dedent(uses), '        ').strip()}
    """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("refused") == len(USES)
