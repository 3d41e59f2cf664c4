"""The seed's TensorFlow model on a GPU SKU, deployed with SDK v2 (azure-ai-ml): a managed online endpoint.

Train first (the v1 example's train.py, into ./outputs), then run against the local cloud with:
    python ../tf-mnist-gpu/train.py outputs
    fake-azure run -- python deploy.py
This is plain azure-ai-ml code, as written for Azure: run without `fake-azure run` (and with your own
subscription, resource group and workspace below) it creates a real Standard_NC6s_v3 instance, billed
until the endpoint is deleted at the end."""
import json
import os
import random
import sys
import time
import uuid

from azure.ai.ml import MLClient
from azure.ai.ml.entities import CodeConfiguration, Environment, ManagedOnlineDeployment, ManagedOnlineEndpoint, Model
from azure.identity import DefaultAzureCredential

SUBSCRIPTION_ID = os.environ.get("AZURE_SUBSCRIPTION_ID", "00000000-0000-0000-0000-000000000000")
RESOURCE_GROUP = os.environ.get("AZURE_RESOURCE_GROUP", "demo-rg")
WORKSPACE = os.environ.get("AZURE_ML_WORKSPACE", "demo-ws")

here = os.path.dirname(os.path.abspath(__file__))
os.chdir(here)
if not os.path.exists(os.path.join("outputs", "model", "mnist-tf.model.meta")):
    sys.exit("outputs/model/mnist-tf.model.meta is missing: run `python ../tf-mnist-gpu/train.py outputs` first")

ml_client = MLClient(DefaultAzureCredential(), SUBSCRIPTION_ID, RESOURCE_GROUP, WORKSPACE)

# Endpoint names are unique per Azure region, hence the suffix.
endpoint_name = "tf-mnist-" + uuid.uuid4().hex[:8]
endpoint = ManagedOnlineEndpoint(name=endpoint_name, auth_mode="key",
                                 description="TensorFlow DNN (tf.compat.v1) for 28x28 digits on a GPU SKU")
started = time.perf_counter()
ml_client.online_endpoints.begin_create_or_update(endpoint).result()
print("Created endpoint", endpoint_name)

try:
    blue = ManagedOnlineDeployment(
        name="blue",
        endpoint_name=endpoint_name,
        # The checkpoint folder train.py saved: mnist-tf.model(.meta, .index, .data-*). It is registered
        # with the deployment and keeps its folder name ("model") under AZUREML_MODEL_DIR.
        model=Model(path="outputs/model", description="TensorFlow DNN for 28x28 digits"),
        environment=Environment(conda_file="conda.yml", image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04"),
        code_configuration=CodeConfiguration(code="onlinescoring", scoring_script="score.py"),
        instance_type="Standard_NC6s_v3",  # one NVIDIA V100 per instance
        instance_count=1,
    )
    try:
        deployment = ml_client.online_deployments.begin_create_or_update(blue).result()
    except Exception:  # say why: the replica's log (a failing init() shows its traceback there)
        print(ml_client.online_deployments.get_logs(name="blue", endpoint_name=endpoint_name, lines=50))
        raise
    state = getattr(deployment.provisioning_state, "value", deployment.provisioning_state)  # an enum member
    print(f"Deployment {deployment.name}: {state} on {deployment.instance_count} x "
          f"{deployment.instance_type} in {time.perf_counter() - started:.1f}s")
    logs = ml_client.online_deployments.get_logs(name="blue", endpoint_name=endpoint_name, lines=200)
    gpu_note = [line for line in logs.splitlines() if "has no NVIDIA GPU" in line]
    if gpu_note:  # the emulated instance has a GPU; this host may not
        print("note:", gpu_note[0].split("fake-azure: ", 1)[-1])

    endpoint.traffic = {"blue": 100}
    ml_client.online_endpoints.begin_create_or_update(endpoint).result()

    # Held-out rows from training (train.py's test set), a few at random in one request.
    with open(os.path.join("outputs", "test_data.json")) as handle:
        test = json.load(handle)
    rows = random.sample(range(len(test["labels"])), 20)
    request_file = os.path.join("outputs", "sample-request.json")
    with open(request_file, "w") as handle:
        json.dump({"data": [test["data"][i] for i in rows]}, handle)

    started = time.perf_counter()
    answer = ml_client.online_endpoints.invoke(endpoint_name=endpoint_name, request_file=request_file)
    print(f"invoke: {len(rows)} rows scored in {time.perf_counter() - started:.2f}s")
    predictions = json.loads(answer)
    correct = 0
    for index, prediction in zip(rows, predictions):
        label = test["labels"][index]
        correct += prediction == label
        print(f"row {index:3d}: label {label}, prediction {prediction}")
    print(f"{correct} of {len(rows)} rows predicted correctly")
finally:
    ml_client.online_endpoints.begin_delete(name=endpoint_name).result()
    print("Deleted endpoint", endpoint_name)
