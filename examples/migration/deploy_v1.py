"""The seed's TensorFlow model on an AKS GPU cluster with SDK v1 (azureml-core): the code being migrated.

Plain azureml-core code, as written for Azure: an AKS cluster of three Standard_NC6 nodes (one GPU each),
the checkpoint folder registered as `tf-dnn-mnist`, the v1 example's score.py and myenv.yml
(../tf-mnist-gpu/) in an InferenceConfig with enable_gpu, one AksWebservice replica. The functions take
the Workspace, so test_same_predictions.py calls them with its own; run as a script:

    python ../tf-mnist-gpu/train.py outputs        # once: outputs/model/ and outputs/test_data.json
    fake-azure run -- python deploy_v1.py          # deploy, score the held-out rows, keep the service
    fake-azure run -- python deploy_v1.py --delete # delete the service and the cluster

Against Azure (FAKE_AZURE_TARGET=azure, your own workspace) the cluster is billed until deleted."""
from __future__ import annotations

import json
import os
import sys
from typing import Sequence

import requests
from azureml.core import Workspace
from azureml.core.compute import AksCompute, ComputeTarget
from azureml.core.compute_target import ComputeTargetException
from azureml.core.model import InferenceConfig, Model
from azureml.core.webservice import AksWebservice, Webservice

HERE = os.path.dirname(os.path.abspath(__file__))
V1_EXAMPLE = os.path.join(HERE, "..", "tf-mnist-gpu")  # score.py and myenv.yml of the seed, unchanged
CLUSTER_NAME = "aks-gpu"
MODEL_NAME = "tf-dnn-mnist"  # the name the v1 score.py asks Model.get_model_path for
SERVICE_NAME = "aks-dnn-mnist"
BATCH_ROWS = 100  # rows per scoring request

SUBSCRIPTION_ID = os.environ.get("AZURE_SUBSCRIPTION_ID", "00000000-0000-0000-0000-000000000000")
RESOURCE_GROUP = os.environ.get("AZURE_RESOURCE_GROUP", "demo-rg")
WORKSPACE = os.environ.get("AZURE_ML_WORKSPACE", "migration-ws")


def get_or_create_cluster(ws: Workspace, name: str = CLUSTER_NAME) -> AksCompute:
    """The AKS cluster both SDKs deploy to: 3 x Standard_NC6 (6 vCPUs, 56 GB, one K80 each)."""
    try:
        target = ComputeTarget(workspace=ws, name=name)
        print("Found existing compute target", name)
        return target
    except ComputeTargetException:
        config = AksCompute.provisioning_configuration(vm_size="Standard_NC6", agent_count=3)
        target = ComputeTarget.create(workspace=ws, name=name, provisioning_configuration=config)
        target.wait_for_completion(show_output=False)
        print("Created compute target", name, target.provisioning_state)
        return target


def deploy_v1(ws: Workspace, model_dir: str, cluster: AksCompute, name: str = SERVICE_NAME) -> AksWebservice:
    """Register the checkpoint folder and deploy it to ``cluster`` with one GPU replica; wait until Healthy.

    ``model_dir`` must lie under the working directory (azureml-core's Model.register refuses other paths)."""
    model = Model.register(ws, model_path=model_dir, model_name=MODEL_NAME,
                           description="TensorFlow DNN (tf.compat.v1) for 28x28 digits")
    inference_config = InferenceConfig(runtime="python", source_directory=V1_EXAMPLE, entry_script="score.py",
                                       conda_file="myenv.yml", enable_gpu=True)
    # One replica, one GPU: the cluster's three GPUs must leave room for the v2 deployment beside it
    # (the seed's num_replicas=3 would take all three, and the v2 pod would be unschedulable).
    deployment_config = AksWebservice.deploy_configuration(autoscale_enabled=False, num_replicas=1, cpu_cores=2,
                                                           memory_gb=4)
    service = Model.deploy(ws, name, [model], inference_config, deployment_config, cluster, overwrite=True)
    service.wait_for_deployment(show_output=False)
    print(f"v1 service {service.name}: {service.state} at {service.scoring_uri}")
    return service


def predict_v1(service: AksWebservice, rows: Sequence[Sequence[float]]) -> list[int]:
    """The predicted digit of each row: POSTs to the service's scoring URI with its key, as the seed does."""
    headers = {"Content-Type": "application/json", "Authorization": "Bearer " + service.get_keys()[0]}
    predictions: list[int] = []
    for start in range(0, len(rows), BATCH_ROWS):
        body = json.dumps({"data": [list(row) for row in rows[start:start + BATCH_ROWS]]})
        reply = requests.post(service.scoring_uri, body, headers=headers, timeout=60)
        reply.raise_for_status()
        predictions.extend(reply.json())
    return predictions


def delete_v1(ws: Workspace, name: str = SERVICE_NAME, cluster_name: str = CLUSTER_NAME) -> None:
    """Delete the service, the model's versions and the cluster (what deploy_v1 made)."""
    Webservice(ws, name).delete()
    for model in Model.list(ws, name=MODEL_NAME):
        model.delete()
    ComputeTarget(workspace=ws, name=cluster_name).delete()


def workspace() -> Workspace:
    """The workspace named by AZURE_SUBSCRIPTION_ID, AZURE_RESOURCE_GROUP and AZURE_ML_WORKSPACE."""
    return Workspace.create(WORKSPACE, subscription_id=SUBSCRIPTION_ID, resource_group=RESOURCE_GROUP,
                            exist_ok=True, show_output=False)


def load_test_rows(outputs: str) -> tuple[list[list[float]], list[int]]:
    """train.py's held-out rows and their labels."""
    with open(os.path.join(outputs, "test_data.json")) as handle:
        test = json.load(handle)
    return test["data"], test["labels"]


def main(argv: list[str]) -> int:
    ws = workspace()
    if "--delete" in argv:
        delete_v1(ws)
        print("Deleted", SERVICE_NAME, MODEL_NAME, "and", CLUSTER_NAME)
        return 0
    os.chdir(HERE)
    outputs = "outputs"
    if not os.path.exists(os.path.join(outputs, "model", "mnist-tf.model.meta")):
        print("outputs/model/mnist-tf.model.meta is missing: run `python ../tf-mnist-gpu/train.py outputs` first")
        return 1
    service = deploy_v1(ws, os.path.join(outputs, "model"), get_or_create_cluster(ws))
    rows, labels = load_test_rows(outputs)
    predictions = predict_v1(service, rows)
    with open(os.path.join(outputs, "predictions_v1.json"), "w") as handle:
        json.dump(predictions, handle)
    correct = sum(p == label for p, label in zip(predictions, labels))
    print(f"v1: {correct} of {len(rows)} held-out rows predicted correctly; saved outputs/predictions_v1.json")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
