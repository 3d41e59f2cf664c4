"""The same model on the same AKS cluster with SDK v2 (azure-ai-ml): the migrated code.

Plain azure-ai-ml code, as written for Azure: the AKS cluster v1 made (deploy_v1.py) attached as a
KubernetesCompute with a one-GPU instance type, a key-auth KubernetesOnlineEndpoint and a `blue`
KubernetesOnlineDeployment of the checkpoint folder, run by the v2 example's score.py and conda.yml
(../tf-mnist-gpu-v2/), all traffic to `blue`. The functions take the MLClient, so
test_same_predictions.py calls them with its own; run as a script after deploy_v1.py:

    fake-azure run -- python deploy_v2.py          # attach, deploy, score the held-out rows, compare with v1's
    fake-azure run -- python deploy_v2.py --delete # delete the endpoint and detach the cluster

The v1 SDK is used in main() only, to find the cluster's ARM id (a migrating project has both installed)."""
from __future__ import annotations

import json
import os
import sys
import tempfile
from typing import Sequence

from azure.ai.ml import MLClient
from azure.ai.ml.entities import (
    CodeConfiguration,
    Environment,
    KubernetesCompute,
    KubernetesOnlineDeployment,
    KubernetesOnlineEndpoint,
    Model,
)
from azure.identity import DefaultAzureCredential

HERE = os.path.dirname(os.path.abspath(__file__))
V2_EXAMPLE = os.path.join(HERE, "..", "tf-mnist-gpu-v2")  # onlinescoring/score.py and conda.yml
COMPUTE_NAME = "k8s-gpu"
ENDPOINT_NAME = "k8s-dnn-mnist"
INSTANCE_TYPE = "gpu"
# What the v1 service asks for (cpu_cores=2, memory_gb=4, enable_gpu), as a Kubernetes instance type.
INSTANCE_TYPES = {INSTANCE_TYPE: {"resources": {"requests": {"cpu": "2", "memory": "4Gi"},
                                                "limits": {"cpu": "2", "memory": "4Gi", "nvidia.com/gpu": "1"}}}}
BATCH_ROWS = 100  # rows per scoring request, as in deploy_v1

SUBSCRIPTION_ID = os.environ.get("AZURE_SUBSCRIPTION_ID", "00000000-0000-0000-0000-000000000000")
RESOURCE_GROUP = os.environ.get("AZURE_RESOURCE_GROUP", "demo-rg")
WORKSPACE = os.environ.get("AZURE_ML_WORKSPACE", "migration-ws")


def attach_cluster(ml_client: MLClient, cluster_resource_id: str, name: str = COMPUTE_NAME) -> KubernetesCompute:
    """Attach the AKS cluster (its ARM id: v1's ``AksCompute.cluster_resource_id``) with a GPU instance type."""
    compute = KubernetesCompute(name=name, resource_id=cluster_resource_id, namespace="azureml",
                                properties={"instanceTypes": INSTANCE_TYPES, "defaultInstanceType": INSTANCE_TYPE})
    attached = ml_client.compute.begin_create_or_update(compute).result()
    state = getattr(attached.provisioning_state, "value", attached.provisioning_state)  # an enum member
    print(f"Attached {cluster_resource_id.rsplit('/', 1)[-1]} as {attached.name}: {state}")
    return attached


def deploy_v2(ml_client: MLClient, model_dir: str, compute_name: str = COMPUTE_NAME,
              endpoint_name: str = ENDPOINT_NAME) -> KubernetesOnlineEndpoint:
    """A key-auth endpoint on the attached cluster with one GPU instance of the checkpoint, all traffic to it."""
    endpoint = KubernetesOnlineEndpoint(name=endpoint_name, compute=compute_name, auth_mode="key",
                                        description="TensorFlow DNN (tf.compat.v1) for 28x28 digits")
    ml_client.online_endpoints.begin_create_or_update(endpoint).result()
    blue = KubernetesOnlineDeployment(
        name="blue",
        endpoint_name=endpoint_name,
        # The folder keeps its name under AZUREML_MODEL_DIR: the v2 score.py reads $AZUREML_MODEL_DIR/model/.
        model=Model(path=model_dir, description="TensorFlow DNN for 28x28 digits"),
        environment=Environment(conda_file=os.path.join(V2_EXAMPLE, "conda.yml"),
                                image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04"),
        code_configuration=CodeConfiguration(code=os.path.join(V2_EXAMPLE, "onlinescoring"),
                                             scoring_script="score.py"),
        instance_type=INSTANCE_TYPE,
        instance_count=1,
    )
    try:
        deployment = ml_client.online_deployments.begin_create_or_update(blue).result()
    except Exception:  # say why: the replica's log (a failing init() shows its traceback there)
        print(ml_client.online_deployments.get_logs(name="blue", endpoint_name=endpoint_name, lines=50))
        raise
    endpoint.traffic = {"blue": 100}
    endpoint = ml_client.online_endpoints.begin_create_or_update(endpoint).result()
    state = getattr(deployment.provisioning_state, "value", deployment.provisioning_state)
    print(f"v2 deployment {deployment.name}: {state} at {endpoint.scoring_uri}")
    return endpoint


def predict_v2(ml_client: MLClient, endpoint_name: str, rows: Sequence[Sequence[float]]) -> list[int]:
    """The predicted digit of each row: ``online_endpoints.invoke`` (it takes the request from a file)."""
    predictions: list[int] = []
    with tempfile.TemporaryDirectory() as folder:
        request_file = os.path.join(folder, "request.json")
        for start in range(0, len(rows), BATCH_ROWS):
            with open(request_file, "w") as handle:
                json.dump({"data": [list(row) for row in rows[start:start + BATCH_ROWS]]}, handle)
            predictions.extend(json.loads(ml_client.online_endpoints.invoke(endpoint_name=endpoint_name,
                                                                            request_file=request_file)))
    return predictions


def delete_v2(ml_client: MLClient, endpoint_name: str = ENDPOINT_NAME, compute_name: str = COMPUTE_NAME) -> None:
    """Delete the endpoint (its deployment with it) and detach the cluster (the AKS cluster stays)."""
    ml_client.online_endpoints.begin_delete(name=endpoint_name).result()
    ml_client.compute.begin_delete(compute_name).result()


def main(argv: list[str]) -> int:
    ml_client = MLClient(DefaultAzureCredential(), SUBSCRIPTION_ID, RESOURCE_GROUP, WORKSPACE)
    if "--delete" in argv:
        delete_v2(ml_client)
        print("Deleted", ENDPOINT_NAME, "and detached", COMPUTE_NAME)
        return 0
    os.chdir(HERE)
    outputs = "outputs"
    if not os.path.exists(os.path.join(outputs, "model", "mnist-tf.model.meta")):
        print("outputs/model/mnist-tf.model.meta is missing: run `python ../tf-mnist-gpu/train.py outputs` first")
        return 1
    from deploy_v1 import get_or_create_cluster, load_test_rows, workspace  # v1, for the cluster's ARM id

    cluster = get_or_create_cluster(workspace())
    attach_cluster(ml_client, cluster.cluster_resource_id)
    deploy_v2(ml_client, os.path.join(outputs, "model"))
    rows, labels = load_test_rows(outputs)
    predictions = predict_v2(ml_client, ENDPOINT_NAME, rows)
    correct = sum(p == label for p, label in zip(predictions, labels))
    print(f"v2: {correct} of {len(rows)} held-out rows predicted correctly")
    v1_file = os.path.join(outputs, "predictions_v1.json")
    if not os.path.exists(v1_file):
        print("no outputs/predictions_v1.json to compare with: run deploy_v1.py first")
        return 0
    with open(v1_file) as handle:
        v1_predictions = json.load(handle)
    differ = [i for i, (a, b) in enumerate(zip(v1_predictions, predictions)) if a != b]
    if len(v1_predictions) != len(predictions) or differ:
        print(f"v1 and v2 differ on {len(differ)} rows (first: {differ[:10]})")
        return 1
    print(f"v1 and v2 predictions identical on all {len(predictions)} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
