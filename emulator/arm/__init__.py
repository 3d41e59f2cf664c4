"""The SDK v2 front end: the ARM-shaped routes, cloud discovery, managed-identity tokens and the storage
account that the real ``azure-ai-ml`` client talks to, served over HTTPS by :mod:`emulator.arm.listener`.

The state lives in the daemon's one store (``arm_assets``, ``storage_blobs``) and file content in the same
content-addressed :class:`~emulator.blobs.BlobStore` as v1 models."""
