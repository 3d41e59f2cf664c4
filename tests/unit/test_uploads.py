"""Multipart uploads (emulator/uploads.py): every part the body held is closed when the block ends."""
from __future__ import annotations

import io
import json

import pytest
from flask import Flask

from emulator import uploads
from emulator.errors import BadRequest
from emulator.resources.models.schema import ModelRegistration as Registration


def _body(metadata: str) -> dict:
    return {"metadata": metadata,
            "file": [(io.BytesIO(b"one"), "a%2Fm.pkl"), (io.BytesIO(b"two"), "b.txt")],
            "stray": (io.BytesIO(b"not a model file"), "stray.bin")}


@pytest.fixture
def spooled(monkeypatch, tmp_path):
    """Every spool file the parser opens (all parts go to disk, as a large body's do)."""
    opened: list = []
    real = uploads.tempfile.TemporaryFile

    def recording(*args, **kwargs):
        opened.append(real(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(uploads, "SMALL_BODY_BYTES", 0)
    monkeypatch.setattr(uploads.tempfile, "TemporaryFile", recording)
    return opened


def test_file_parts_are_read_and_every_part_is_closed_after(spooled, tmp_path) -> None:
    app = Flask(__name__)
    with app.test_request_context(method="POST", data=_body(json.dumps({"name": "m"}))):
        with uploads.multipart_upload(tmp_path, "a model", Registration) as (meta, files):
            assert meta == {"name": "m"}
            assert [(u.relpath, u.stream.read()) for u in files] == [("a/m.pkl", b"one"), ("b.txt", b"two")]
            assert len(spooled) == 3 and not any(f.closed for f in spooled)
    assert all(f.closed for f in spooled)  # the part not named "file" too


def test_parts_are_closed_when_the_block_raises(spooled, tmp_path) -> None:
    app = Flask(__name__)
    with app.test_request_context(method="POST", data=_body(json.dumps({"name": "m"}))):
        with pytest.raises(RuntimeError):
            with uploads.multipart_upload(tmp_path, "a model", Registration):
                raise RuntimeError("registration failed")
    assert len(spooled) == 3 and all(f.closed for f in spooled)


def test_bad_metadata_is_a_400_and_closes_the_parts(spooled, tmp_path) -> None:
    app = Flask(__name__)
    with app.test_request_context(method="POST", data=_body("[1, 2]")):
        with pytest.raises(BadRequest, match="'metadata' field is missing or not a JSON object"):
            with uploads.multipart_upload(tmp_path, "a model", Registration):
                pass
    assert len(spooled) == 3 and all(f.closed for f in spooled)


def test_a_body_that_is_not_multipart_is_a_400(tmp_path) -> None:
    app = Flask(__name__)
    with app.test_request_context(method="POST", json={"name": "m"}):
        with pytest.raises(BadRequest, match="multipart/form-data"):
            with uploads.multipart_upload(tmp_path, "a model", Registration):
                pass
