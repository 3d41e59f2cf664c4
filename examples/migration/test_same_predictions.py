"""The migration's acceptance test: the model deployed with SDK v1 (AksWebservice) and with SDK v2
(KubernetesOnlineDeployment) on the same AKS cluster serves identical predictions, row for row.

deploy_v1.py and deploy_v2.py are called with the pytest plugin's ``aml_workspace`` and ``ml_client``: one
fresh workspace seen through both SDKs, deleted with everything in it at teardown. Run with
``make migration`` (or ``pytest -q examples/migration``)."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# find_spec, not importorskip: importing TensorFlow here would cost every collection ~20 s, and the
# replicas and train.py import it in their own processes anyway.
_MISSING = [name for name in ("tensorflow", "sklearn") if importlib.util.find_spec(name) is None]
pytestmark = pytest.mark.skipif(bool(_MISSING), reason=f"the examples extra is not installed ({', '.join(_MISSING)}"
                                " missing: pip install -e '.[examples]')")

TRAIN = Path(__file__).resolve().parent.parent / "tf-mnist-gpu" / "train.py"


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The v1 example's train.py run once into a temporary outputs/: model/ and test_data.json."""
    outputs = tmp_path_factory.mktemp("migration") / "outputs"
    done = subprocess.run([sys.executable, str(TRAIN), str(outputs)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return outputs


def test_v1_and_v2_deployments_serve_identical_predictions(aml_workspace: Any, ml_client: Any, trained: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # Imported here, not at the top: aml_workspace has just made `azureml.core` the local cloud.
    import deploy_v1
    import deploy_v2

    monkeypatch.chdir(trained.parent)  # Model.register takes only paths under the working directory
    rows, labels = deploy_v1.load_test_rows("outputs")

    cluster = deploy_v1.get_or_create_cluster(aml_workspace)
    service = deploy_v1.deploy_v1(aml_workspace, "outputs/model", cluster)
    assert service.state == "Healthy"

    attached = deploy_v2.attach_cluster(ml_client, cluster.cluster_resource_id)
    assert attached.resource_id == cluster.cluster_resource_id  # the v1 service's cluster, not a new one
    endpoint = deploy_v2.deploy_v2(ml_client, "outputs/model", deploy_v2.COMPUTE_NAME)
    assert endpoint.traffic == {"blue": 100}

    v1 = deploy_v1.predict_v1(service, rows)
    v2 = deploy_v2.predict_v2(ml_client, deploy_v2.ENDPOINT_NAME, rows)

    assert len(v1) == len(v2) == len(rows) > 300
    differ = [(i, a, b) for i, (a, b) in enumerate(zip(v1, v2)) if a != b]
    assert differ == [], f"{len(differ)} rows differ as (row, v1, v2): {differ[:20]}"
    # Both serve the trained model (~0.97 on these rows), not two equal constant answers.
    correct = sum(p == label for p, label in zip(v1, labels))
    assert correct / len(rows) > 0.9, json.dumps(v1[:50])
    assert len(set(v1)) == 10
