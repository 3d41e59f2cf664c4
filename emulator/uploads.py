"""Multipart file uploads (model registration, source assets): parsing and safe relative paths."""
from __future__ import annotations

import io
import json
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterator
from urllib.parse import unquote

from flask import request
from pydantic import BaseModel
from werkzeug.formparser import FormDataParser

from .errors import BadRequest
from .paths import relative_path
from .validation import check_model

# Request bodies up to this size are parsed in memory rather than spooled to disk.
SMALL_BODY_BYTES = 1024 * 1024
MAX_METADATA_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Upload:
    """One uploaded file: its relative path and an open stream of its content."""

    relpath: str
    stream: IO[bytes]


def normalize_relpath(path: str, what: str = "model file", code: str = "InvalidModelFilePath") -> str:
    """A safe relative file path (posix separators), or a 400: uploads must not escape their folder."""
    return relative_path(path, f"{what} path", code, canonical=True)


@contextmanager
def multipart_upload(spool_dir: Path, what: str, metadata: type[BaseModel]) -> Iterator[tuple[dict, list[Upload]]]:
    """The request's ``metadata`` JSON field, checked against the route's declared ``metadata`` schema
    (400 naming the field otherwise, before the block runs), and its ``file`` parts (filenames are
    percent-encoded paths).

    Every file part the body held, whatever its name, is closed (a spooled one deleted) when the block
    ends, normally or not."""
    if request.mimetype != "multipart/form-data":
        raise BadRequest(f"Upload {what} with a multipart/form-data body: a 'metadata' JSON field and one "
                         "file part per file.")

    def spool(total_content_length, content_type, filename, content_length=None):
        # Small bodies stay in memory; large ones spool beside the blobs (same file system, sized
        # for models), not in a small /tmp.
        if total_content_length is not None and total_content_length <= SMALL_BODY_BYTES:
            return io.BytesIO()
        return tempfile.TemporaryFile(dir=spool_dir, prefix=".part-")

    parser = FormDataParser(stream_factory=spool, max_form_memory_size=MAX_METADATA_BYTES, silent=False,
                            max_form_parts=None)
    try:
        _, form, files = parser.parse(request.stream, request.mimetype, request.content_length,
                                      request.mimetype_params)
    except ValueError as exc:
        raise BadRequest(f"Malformed multipart body: {exc}") from exc
    try:
        uploads = []
        for storage in files.getlist("file"):
            storage.stream.seek(0)
            uploads.append(Upload(unquote(storage.filename or ""), storage.stream))
        try:
            meta = json.loads(form.get("metadata") or "")
            if not isinstance(meta, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            raise BadRequest(f"The 'metadata' field is missing or not a JSON object: {exc}") from exc
        check_model(metadata, meta, "'metadata' field")
        yield meta, uploads
    finally:
        for _, storage in files.items(multi=True):
            storage.close()
