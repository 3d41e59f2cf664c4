# Every target does its own set-up on a fresh machine: `make test` and `make demo` create the venv.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: install lint test test-docker migration demo bench gpu-check clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test,examples]'
	touch $(STAMP)

# ruff and mypy as configured in pyproject.toml (mypy's `files` names what it checks).
lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

test: install
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

# The deploy acceptance tests again, with replicas in containers (needs an engine: docs/docker.md).
test-docker: install
	FAKE_AZURE_RUNTIME=docker $(BIN)/pytest -q -p no:cacheprovider tests/integration/test_deploy_facade.py \
		tests/integration/test_deploy_behaviour.py tests/integration/test_gpu_notebook_shape.py \
		tests/integration/test_local_webservice.py tests/integration/test_aci_and_schema.py \
		tests/integration/test_reliability.py tests/integration/test_model_package_profile.py

# The v1 -> v2 migration example: one model on one AKS cluster through AksWebservice and through a
# KubernetesOnlineDeployment, identical predictions asserted (examples/migration; outside testpaths).
migration: install
	$(BIN)/pytest -q examples/migration

demo: install
	$(BIN)/python examples/run_demo.py

bench: install
	$(BIN)/python bench/control_plane.py
	$(BIN)/python bench/gateway.py
	$(BIN)/python bench/deploy.py
	$(BIN)/python bench/fixtures.py
	$(BIN)/python bench/runtimes.py
	$(BIN)/python bench/restart.py
	$(BIN)/python bench/logs.py
	$(BIN)/python bench/slow_clients.py
	$(BIN)/python bench/large_upload.py
	$(BIN)/python bench/v2_assets.py
	$(BIN)/python bench/v2_endpoints.py

gpu-check: install
	$(BIN)/python scripts/gpu_check.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
