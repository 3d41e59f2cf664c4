"""The seed workflow (Azure ML docs: deploy a model to a GPU AKS cluster), unchanged azureml.core code.

Run against the local cloud with:  fake-azure run -- python deploy.py"""
import os

from azureml.core import Workspace
from azureml.core.compute import AksCompute, ComputeTarget
from azureml.core.compute_target import ComputeTargetException
from azureml.core.model import InferenceConfig, Model
from azureml.core.webservice import AksWebservice

here = os.path.dirname(os.path.abspath(__file__))
os.chdir(here)

if not os.path.exists(os.path.join(here, ".azureml", "config.json")):
    Workspace.create("demo-ws", subscription_id="00000000-0000-0000-0000-000000000000",
                     resource_group="demo-rg", exist_ok=True, show_output=False).write_config(here)
ws = Workspace.from_config()
print("Workspace:", ws.name, ws.location)

model = Model.register(ws, model_path="model", model_name="tf-dnn-mnist", description="seed model")
print("Registered model", model.name, "version", model.version)

# Choose a name for your cluster
aks_name = "aks-gpu"

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
print("Cluster:", aks_target.name, aks_target.agent_count, "x", aks_target.agent_vm_size,
      "state", aks_target.provisioning_state)

gpu_aks_config = AksWebservice.deploy_configuration(autoscale_enabled=False, num_replicas=3, cpu_cores=2, memory_gb=4)
model = Model(ws, "tf-dnn-mnist")
inference_config = InferenceConfig(runtime="python", entry_script="score.py", conda_file="myenv.yml",
                                   enable_gpu=True)
print("Latest model:", model.id)
print("Inference config: entry", inference_config.entry_script, "gpu", inference_config.enable_gpu)
print("Deploy config: replicas", gpu_aks_config.num_replicas, "cpu", gpu_aks_config.cpu_cores,
      "memory", gpu_aks_config.memory_gb)
