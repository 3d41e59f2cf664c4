"""Microsoft's deploy-to-cloud notebook (how-to-use-azureml/deployment/deploy-to-cloud), as a user writes it,
against the local cloud: data uploaded to the default datastore, tabular input and output datasets, a model
registered with them and a resource configuration, deployed to ACI and scored with rows read back from its
sample input dataset; then the profiling cell's one-request-per-line dataset, registered. The script also
imports the training names many deploy scripts import without using them."""
from __future__ import annotations

import json

import pytest

pytestmark = [
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore:.*been deprecated and will be removed:DeprecationWarning"),
]

SCORE = '''\
import json
import os

import numpy as np


def init():
    global model_path
    model_path = os.path.join(os.getenv("AZUREML_MODEL_DIR"), "sklearn_regression_model.pkl")
    assert os.path.exists(model_path), model_path


def run(raw_data):
    data = np.array(json.loads(raw_data)["data"])
    return data.sum(axis=1).round(6).tolist()
'''
FEATURES = "age,sex,bmi\n0.038,0.05,0.061\n-0.001,-0.044,-0.051\n"
LABELS = "label\n151.0\n75.0\n"


@pytest.fixture
def notebook_dir(tmp_path, monkeypatch):
    (tmp_path / "features.csv").write_text(FEATURES)
    (tmp_path / "labels.csv").write_text(LABELS)
    (tmp_path / "sklearn_regression_model.pkl").write_bytes(b"a model")
    (tmp_path / "score.py").write_text(SCORE)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_deploy_to_cloud_notebook_with_datasets(ws, notebook_dir, activated):
    from azureml.core import Dataset, Datastore, Environment, Experiment, Model, Webservice  # noqa: F401 - the notebook's line
    from azureml.core.conda_dependencies import CondaDependencies
    from azureml.core.model import InferenceConfig
    from azureml.core.resource_configuration import ResourceConfiguration
    from azureml.core.webservice import AciWebservice
    from azureml.data import dataset_type_definitions

    datastore = ws.get_default_datastore()
    datastore.upload_files(files=["./features.csv", "./labels.csv"], target_path="sklearn_regression/",
                           overwrite=True)
    input_dataset = Dataset.Tabular.from_delimited_files(path=[(datastore, "sklearn_regression/features.csv")])
    output_dataset = Dataset.Tabular.from_delimited_files(path=[(datastore, "sklearn_regression/labels.csv")])
    model = Model.register(workspace=ws, model_name="my-sklearn-model", model_path="./sklearn_regression_model.pkl",
                           model_framework=Model.Framework.SCIKITLEARN, model_framework_version="0.19.1",
                           sample_input_dataset=input_dataset, sample_output_dataset=output_dataset,
                           resource_configuration=ResourceConfiguration(cpu=1, memory_in_gb=0.5),
                           description="Ridge regression model to predict diabetes progression.",
                           tags={"area": "diabetes", "type": "regression"})

    environment = Environment("my-sklearn-environment")
    environment.python.conda_dependencies = CondaDependencies.create(python_version="3.11", pip_packages=[
        "azureml-defaults", "numpy"])
    inference_config = InferenceConfig(entry_script="score.py", environment=environment)
    aci_config = AciWebservice.deploy_configuration(cpu_cores=1, memory_gb=1)
    service = Model.deploy(workspace=ws, name="my-custom-env-service", models=[model],
                           inference_config=inference_config, deployment_config=aci_config)
    try:
        service.wait_for_deployment(show_output=True)
        assert service.state == "Healthy", service.get_logs()

        rows = Model(ws, "my-sklearn-model").sample_input_dataset.to_pandas_dataframe().values.tolist()
        assert service.run(json.dumps({"data": rows})) == [0.149, -0.096]
    finally:
        service.delete()

    # The profiling cell: one serialized request per line, no header, registered as a new version.
    with open("sample_request_data.txt", "w") as handle:
        handle.write("\n".join([json.dumps({"data": rows})] * 100))
    data_store = Datastore.get_default(ws)
    data_store.upload_files(["./sample_request_data.txt"], target_path="sample_request_data")
    sample_request_data = Dataset.Tabular.from_delimited_files(
        [(data_store, "sample_request_data/sample_request_data.txt")], separator="\n", infer_column_types=True,
        header=dataset_type_definitions.PromoteHeadersBehavior.NO_HEADERS)
    sample_request_data = sample_request_data.register(workspace=ws, name="diabetes_sample_request_data",
                                                       create_new_version=True)
    assert sample_request_data.version == 1
    requests_frame = Dataset.get_by_name(ws, "diabetes_sample_request_data").to_pandas_dataframe()
    assert requests_frame.shape == (100, 1) and json.loads(requests_frame["Column1"][0]) == {"data": rows}
