"""The Docker engine the docker replica runtime uses answers and runs the local base image.

Set up with scripts/docker-engine.sh and scripts/build-base-image.sh (docs/docker.md).
"""
from __future__ import annotations

import os

import pytest

pytestmark = pytest.mark.requires_docker

BASE_IMAGE = os.environ.get("FAKE_AZURE_BASE_IMAGE", "fake-azure-base:bookworm")


@pytest.fixture
def client():
    import docker

    c = docker.from_env(timeout=60)
    yield c
    c.close()


def test_engine_pings(client) -> None:
    assert client.ping() is True


def test_base_image_runs_python(client) -> None:
    import docker

    try:
        client.images.get(BASE_IMAGE)
    except docker.errors.ImageNotFound:
        message = f"base image {BASE_IMAGE} is absent: build it with scripts/build-base-image.sh"
        if os.environ.get("FAKE_AZURE_REQUIRE_DOCKER") == "1":
            pytest.fail(f"FAKE_AZURE_REQUIRE_DOCKER=1 but {message}", pytrace=False)
        pytest.skip(message)
    out = client.containers.run(BASE_IMAGE, 'python3 -c "print(42)"', remove=True)
    assert b"42" in out
