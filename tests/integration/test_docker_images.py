"""Environment images for the docker runtime: built once per digest, reused, listed, pruned; and the
container-specific behaviour of ``DockerRuntime`` (no bind mounts, labels, limits, sweeping)."""
from __future__ import annotations

import os
import tempfile
import textwrap
import time
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from emulator.environments import BuildFailed, BuildSpec, SpecError
from emulator.runtimes.images import PipSettings, image_tag, needs_shim

requires_docker = pytest.mark.requires_docker
BASE_IMAGE = os.environ.get("FAKE_AZURE_BASE_IMAGE") or "fake-azure-base:bookworm"


@pytest.fixture(scope="module")
def client() -> Iterator[object]:
    import docker

    c = docker.from_env(timeout=600)
    yield c
    c.close()


@pytest.fixture(scope="module")
def builder(client: object, tmp_path_factory: pytest.TempPathFactory):
    from emulator.runtimes.images import ImageBuilder

    return ImageBuilder(client, BASE_IMAGE, tmp_path_factory.mktemp("image-logs"))


def _unique_spec(python: str, name: str = "six") -> BuildSpec:
    # A marker that is always true but unique: a new digest, so a fresh build, for a tiny package.
    return BuildSpec(python=python, requirements=(f'{name}; platform_machine != "none-{uuid.uuid4().hex[:12]}"',))


# --- without an engine -------------------------------------------------------------------------------

def test_pip_settings_split_remote_and_local_sources(tmp_path: Path) -> None:
    cert = tmp_path / "ca.pem"
    cert.write_text("CERT")
    constraints = tmp_path / "c.txt"
    constraints.write_text("torch<=2.0\n")
    settings = PipSettings({"extra-index-url": "file:///opt/pypi/simple https://mirror.example/simple",
                            "find-links": "/opt/wheels", "cert": str(cert), "constraint": str(constraints),
                            "trusted-host": "mirror.example"})
    assert settings.strategy("auto") == "online"  # PyPI (the default index) plus an HTTPS mirror
    assert settings.local_sources == ["file:///opt/pypi/simple", "/opt/wheels"]
    settings.write_context(tmp_path, "online")
    conf = (tmp_path / "pip.conf").read_text()
    # No index-url on the host: the container's pip keeps its own default index (none is written).
    assert not any(line.startswith("index-url") for line in conf.splitlines())
    assert "extra-index-url = https://mirror.example/simple" in conf
    assert "file://" not in conf and "/opt/wheels" not in conf
    assert "cert = /etc/fake-azure/pip-ca.pem" in conf
    assert (tmp_path / "fake-azure" / "pip-ca.pem").read_text() == "CERT"
    assert "constraint = /etc/fake-azure/constraints-0.txt" in conf
    assert "trusted-host = mirror.example" in conf


def test_local_only_indexes_use_the_wheelhouse() -> None:
    settings = PipSettings({"index-url": "file:///opt/pypi/simple", "find-links": "/opt/wheels"})
    assert settings.strategy("auto") == "wheelhouse"
    assert PipSettings({"no-index": "true", "find-links": "/w"}).strategy("auto") == "wheelhouse"


def test_shim_only_without_azureml_core() -> None:
    assert needs_shim(["azureml-inference-server-http", "numpy==1.26"])
    assert not needs_shim(["azureml-core==1.61.0.post4", "azureml-inference-server-http"])


# --- with an engine ----------------------------------------------------------------------------------

@requires_docker
def test_same_digest_builds_once(builder) -> None:
    spec = _unique_spec(builder.base_python())
    first: list[str] = []
    try:
        tag = builder.prepare(spec, first.append)
        assert tag == image_tag(spec.digest)
        assert any("Successfully built" in line for line in first)  # the build was streamed to the log
        image_id = builder.client.images.get(tag).id
        again: list[str] = []
        started = time.monotonic()
        assert builder.prepare(spec, again.append) == tag
        assert time.monotonic() - started < 5
        assert any("using the cached image" in line for line in again) and not any("Step" in line for line in again)
        assert builder.client.images.get(tag).id == image_id
        labels = builder.client.images.get(tag).labels
        assert labels["fake-azure.env-digest"] == spec.digest and labels["fake-azure.shim"] == "1"
        out = builder.client.containers.run(tag, ["python", "-c", "import six, sys, azureml.core.model; "
                                                  "print(sys.prefix)"], remove=True, network_mode="none")
        assert out.decode().strip() == "/opt/venv"  # venv on PATH, shim on PYTHONPATH
    finally:
        builder.prune(keep_digests={i["digest"] for i in builder.list_images()} - {spec.digest})


@requires_docker
def test_prune_removes_our_images_only(builder) -> None:
    spec = _unique_spec(builder.base_python())
    builder.prepare(spec)
    other = f"fake-azure-test-other:{uuid.uuid4().hex[:8]}"
    builder.client.images.get(BASE_IMAGE).tag(other)
    try:
        others_ours = {i["digest"] for i in builder.list_images()} - {spec.digest}
        assert spec.digest in {i["digest"] for i in builder.list_images()}
        removed = builder.prune(keep_digests=others_ours)
        assert removed == [image_tag(spec.digest)]
        assert spec.digest not in {i["digest"] for i in builder.list_images()}
        assert others_ours <= {i["digest"] for i in builder.list_images()}  # kept
        builder.client.images.get(other)  # not ours: untouched
        builder.client.images.get(BASE_IMAGE)
    finally:
        builder.client.images.remove(other)


@requires_docker
def test_failing_requirement_fails_with_the_pip_line(builder) -> None:
    import docker

    spec = BuildSpec(python=builder.base_python(), requirements=("fake-azure-no-such-package-xyz==1.0.0",))
    lines: list[str] = []
    with pytest.raises(BuildFailed) as info:
        builder.prepare(spec, lines.append)
    summary = info.value.summary
    assert "ERROR:" in summary and "fake-azure-no-such-package-xyz" in summary, summary
    assert info.value.log_path.is_file() and "fake-azure-no-such-package-xyz" in info.value.log_path.read_text()
    assert lines  # streamed as it went
    with pytest.raises(docker.errors.ImageNotFound):  # a failed build leaves no image behind
        builder.client.images.get(image_tag(spec.digest))


@requires_docker
def test_a_conda_pin_without_a_wheel_fails_at_once_in_an_image_build(builder) -> None:
    from emulator.environments import resolve_spec

    # numpy 1.19.5 has no wheel for Python >= 3.10: conda entries are never built from source.
    base = builder.base_python()
    spec = resolve_spec({"python_version": base, "conda": ["numpy=1.19.5"]}, base, python_available=lambda v: True)
    with pytest.raises(BuildFailed) as info:
        builder.prepare(spec)
    assert "numpy==1.19.5" in info.value.summary and "installed from wheels only" in info.value.summary
    log = info.value.log_path.read_text()
    assert "--only-binary" in log and "Building wheel for numpy" not in log


@requires_docker
def test_python_mismatch_is_a_spec_error(builder) -> None:
    base = builder.base_python()
    other = "3.12" if base != "3.12" else "3.11"
    with pytest.raises(SpecError) as info:
        builder.prepare(BuildSpec(python=other, requirements=("six",)))
    message = str(info.value)
    assert other in message and base in message and "FAKE_AZURE_BASE_IMAGE" in message


@requires_docker
def test_wheelhouse_strategy_installs_without_an_index(client, tmp_path: Path) -> None:
    from emulator.runtimes.images import ImageBuilder

    wheelhouse = ImageBuilder(client, BASE_IMAGE, tmp_path, strategy="wheelhouse")
    spec = _unique_spec(wheelhouse.base_python())
    try:
        lines: list[str] = []
        tag = wheelhouse.prepare(spec, lines.append)
        assert any("--no-index --find-links" in line for line in lines)
        assert client.images.get(tag).labels["fake-azure.pip-strategy"] == "wheelhouse"
        client.containers.run(tag, ["python", "-c", "import six"], remove=True, network_mode="none")
    finally:
        wheelhouse.prune(keep_digests={i["digest"] for i in wheelhouse.list_images()} - {spec.digest})


# --- the runtime's container specifics ---------------------------------------------------------------

@requires_docker
def test_container_has_no_mounts_labels_limits_and_is_swept(tmp_path: Path) -> None:
    import requests

    from emulator.runtimes import ReplicaSpec
    from emulator.runtimes.docker import DockerRuntime
    from scoring.layout import ModelFiles, lay_out
    from scoring.probe import ProbeResult, wait_ready

    src = tmp_path / "src"
    src.mkdir()
    (src / "score.py").write_text(textwrap.dedent("""
        import os
        def init():
            pass
        def run(raw_data):
            return {"cwd": os.getcwd(), "root": os.environ["AML_APP_ROOT"],
                    "model": open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "w.txt")).read()}
    """))
    weights = tmp_path / "w.txt"
    weights.write_text("weights")
    app = lay_out(tmp_path / "app", [ModelFiles("m", 1, {"w.txt": weights})], "score.py", source_directory=src)
    env = app.env("svc", "ws")
    env["AZUREML_MODEL_DIR"] = str(app.path / "azureml-models" / "m" / "1")  # absolute on the host
    instance = f"itest-{uuid.uuid4().hex[:8]}"
    runtime = DockerRuntime(instance, BASE_IMAGE, Path(tempfile.gettempdir()) / "fake-azure-contract-images")
    spec = ReplicaSpec(replica_id="r1", service_name="svc", app_root=app.path, environment=runtime.prepare({}, print),
                       entry_script=app.entry_script, log_path=tmp_path / "r.log", env=env,
                       cpu_limit=0.5, memory_limit_gb=0.5)
    handle = runtime.start(spec)
    try:
        assert wait_ready(runtime.address(handle), time.monotonic() + 120,
                          lambda: runtime.is_alive(handle)) is ProbeResult.READY, runtime.logs(handle)
        host, port = runtime.address(handle)
        body = requests.post(f"http://{host}:{port}/score", data="x", timeout=30).json()
        assert body == {"cwd": "/var/azureml-app", "root": "/var/azureml-app", "model": "weights"}
        attrs = handle.native.container.attrs
        assert attrs["Mounts"] == []
        assert attrs["HostConfig"]["NanoCpus"] == 500_000_000
        assert attrs["HostConfig"]["Memory"] == 512 * 1024 ** 2
        assert attrs["Config"]["Labels"]["fake-azure.instance"] == instance
        assert attrs["Config"]["Labels"]["fake-azure.replica"] == "r1"
        assert runtime.sweep(keep_replica_ids={"r1"}) == []
        # A new daemon of the same instance finds the orphan and removes it.
        successor = DockerRuntime(instance, BASE_IMAGE, Path(tempfile.gettempdir()) / "fake-azure-contract-images")
        assert successor.sweep() == [runtime.container_name(spec)]
        assert not runtime.is_alive(handle)
    finally:
        runtime.stop(handle)
        runtime.cleanup(handle)
