"""The seed workflow (Azure ML docs: deploy a TensorFlow model for GPU inference) with a real model.

Train first (python train.py), then run against the local cloud with:
    fake-azure run -- python deploy.py
The azureml.core code is the seed's, in the seed's order; against Azure (FAKE_AZURE_TARGET=azure)
it provisions a real Standard_NC6 cluster, which is billed until deleted at the end."""
import json
import os
import random
import sys
import time

import requests
from azureml.core import Workspace
from azureml.core.compute import AksCompute, ComputeTarget
from azureml.core.compute_target import ComputeTargetException
from azureml.core.model import InferenceConfig, Model
from azureml.core.webservice import AksWebservice
from azureml.exceptions import WebserviceException

here = os.path.dirname(os.path.abspath(__file__))
os.chdir(here)
if not os.path.exists(os.path.join("outputs", "model", "mnist-tf.model.meta")):
    sys.exit("outputs/model/mnist-tf.model.meta is missing: run `python train.py` first")
timings = {}

if not os.path.exists(os.path.join(here, ".azureml", "config.json")):
    Workspace.create("demo-ws", subscription_id="00000000-0000-0000-0000-000000000000",
                     resource_group="demo-rg", exist_ok=True, show_output=False).write_config(here)
ws = Workspace.from_config()

# Choose a name for your cluster
aks_name = "aks-gpu"
started = time.perf_counter()
# Check to see if the cluster already exists
try:
    aks_target = ComputeTarget(workspace=ws, name=aks_name)
    print("Found existing compute target")
except ComputeTargetException:
    print("Creating a new compute target...")
    # Provision AKS cluster with GPU machine
    prov_config = AksCompute.provisioning_configuration(vm_size="Standard_NC6")
    # Create the cluster
    aks_target = ComputeTarget.create(workspace=ws, name=aks_name, provisioning_configuration=prov_config)
    aks_target.wait_for_completion(show_output=True)
timings["provisioning"] = time.perf_counter() - started

# The checkpoint train.py saved: mnist-tf.model(.meta, .index, .data-*), as the seed's score.py loads it.
model = Model.register(ws, model_path="outputs/model", model_name="tf-dnn-mnist",
                       description="TensorFlow DNN (tf.compat.v1) for 28x28 digits")
print("Registered model", model.name, "version", model.version)

aks_service_name = "aks-dnn-mnist"
gpu_aks_config = AksWebservice.deploy_configuration(autoscale_enabled=False, num_replicas=3, cpu_cores=2, memory_gb=4)
model = Model(ws, "tf-dnn-mnist")
inference_config = InferenceConfig(runtime="python", entry_script="score.py", conda_file="myenv.yml",
                                   enable_gpu=True)

started = time.perf_counter()
aks_service = Model.deploy(ws, models=[model], inference_config=inference_config, deployment_config=gpu_aks_config,
                           deployment_target=aks_target, name=aks_service_name, overwrite=True)
aks_service.wait_for_deployment(show_output=True)
timings["deploy"] = time.perf_counter() - started
print(aks_service.state)
status = aks_service.deployment_status or {}
print("replicas:", status.get("availableReplicas", "?"), "on", aks_target.name)
gpu_note = [line for line in aks_service.get_logs().splitlines() if "has no NVIDIA GPU" in line]
if gpu_note:  # the emulated cluster has GPUs; this host may not
    print("note:", gpu_note[0].split("fake-azure: ", 1)[-1])

# Load test data from model training (train.py's held-out rows)
with open(os.path.join("outputs", "test_data.json")) as handle:
    test = json.load(handle)
X_test, y_test = test["data"], test["labels"]

# send a random row from the test set to score
random_index = random.randint(0, len(X_test) - 1)
input_data = "{\"data\": [" + str(list(X_test[random_index])) + "]}"

api_key = aks_service.get_keys()[0]
headers = {"Content-Type": "application/json", "Authorization": ("Bearer " + api_key)}
started = time.perf_counter()
resp = requests.post(aks_service.scoring_uri, input_data, headers=headers)
timings["first score"] = time.perf_counter() - started

print("POST to url", aks_service.scoring_uri)
print("label:", y_test[random_index])
print("prediction:", resp.text)

# A few more rows, one request each: the cluster's front end spreads them over the replicas.
rows = random.sample(range(len(X_test)), 12)
started = time.perf_counter()
correct = 0
for index in rows:
    reply = requests.post(aks_service.scoring_uri, json.dumps({"data": [X_test[index]]}), headers=headers)
    correct += reply.json() == [y_test[index]]
timings["12 more scores"] = time.perf_counter() - started
print(f"{correct} of {len(rows)} more random rows predicted correctly")

# Azure does not deploy a model whose InferenceConfig enables GPUs to a cluster without GPUs.
cpu_target = ComputeTarget.create(ws, "aks-cpu", AksCompute.provisioning_configuration(vm_size="Standard_D3_v2"))
cpu_target.wait_for_completion()
cpu_service = Model.deploy(ws, models=[model], inference_config=inference_config, deployment_config=gpu_aks_config,
                           deployment_target=cpu_target, name="aks-dnn-mnist-cpu", overwrite=True)
try:
    cpu_service.wait_for_deployment()
    print("Unexpected: the GPU service deployed on the CPU-only cluster")
except WebserviceException as exc:
    unschedulable = [line.strip() for line in exc.message.splitlines() if "nodes are available" in line]
    print("Refused on the CPU-only cluster:", exc.message.splitlines()[0])
    print("  ", unschedulable[0] if unschedulable else "")

aks_service.delete()
cpu_service.delete()
aks_target.delete()
cpu_target.delete()
print("Deleted the services and the clusters")
print("\nTimings: " + ", ".join(f"{name} {seconds:.2f}s" for name, seconds in timings.items()))
