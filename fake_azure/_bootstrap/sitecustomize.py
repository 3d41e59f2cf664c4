"""Put first on PYTHONPATH by ``fake-azure run``: activates the emulator in every Python process the
command starts, then hands over to any sitecustomize that was there before us."""
import importlib
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))

try:
    import fake_azure

    fake_azure.activate()
except Exception as exc:  # never break the user's interpreter; say why activation did not happen
    sys.stderr.write(f"fake-azure: activation failed: {exc}\n")

sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]
sys.modules.pop("sitecustomize", None)
try:
    importlib.import_module("sitecustomize")
except ImportError:
    pass
