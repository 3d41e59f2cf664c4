"""The entry scripts of no-code deployments (emulator/deploy/no_code.py copies one into a service's folder).

Each runs inside the replica's own interpreter with the framework's curated environment, under the
scoring server like any user's score.py: ``init()`` loads the one model under ``AZUREML_MODEL_DIR``,
``run()`` scores a request in the format of Azure's no-code server for that framework. They import
nothing from this package: importing it loads no framework."""
