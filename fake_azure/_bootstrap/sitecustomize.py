"""Put first on PYTHONPATH by ``fake-azure run``: activates the emulator in every Python process the
command starts, then runs any sitecustomize that was there before us."""
import importlib.machinery
import importlib.util
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))

try:
    import fake_azure

    fake_azure.activate()
except Exception as exc:  # never break the user's interpreter; say why activation did not happen
    sys.stderr.write(f"fake-azure: activation failed: {exc}\n")

_others = [p for p in sys.path if os.path.abspath(p or ".") != _here]
_spec = importlib.machinery.PathFinder.find_spec("sitecustomize", _others)
if _spec is not None and _spec.loader is not None:
    _module = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_module)
