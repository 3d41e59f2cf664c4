"""Moving model files between the local disk and the local cloud: which files a registration uploads
(and under which relative names), the streamed upload body, and downloads."""
from __future__ import annotations

import json
import os
import tempfile
import uuid
from typing import TYPE_CHECKING, Any, Iterator
from urllib.parse import quote

if TYPE_CHECKING:
    from .._transport import Response

_CHUNK = 1024 * 1024
# One random boundary per process: the server's multipart parser compiles a pattern per distinct
# boundary, so a fresh one per request would cost a regex compile on every registration.
_BOUNDARY = uuid.uuid4().hex


def refuse_escaping_links(file_names: list[str], root: str) -> None:
    """Files reached through symlinks must still live under ``root`` (the working directory).

    The SDK only checks the path it is given; a link inside a model folder to, say, ~/.ssh would be
    uploaded. We refuse it with the SDK's own message for paths outside the working directory."""
    real_root = os.path.realpath(root)
    for file_name in file_names:
        real = os.path.realpath(file_name)
        if real != real_root and not real.startswith(real_root + os.sep):
            raise PermissionError("Unauthorized access: Path outside current working directory")


def collect_model_artifact_paths(model_path: str, child_paths: list[str] | None) -> tuple[list[str], list[str]]:
    """Port of ``Model._collect_model_artifact_paths``: local files and their names inside the model.

    A file registers as its base name; a folder as ``<folder name>/<relative path>`` for every file
    under it (or under the ``child_paths`` inside it), so downloads recreate the folder.
    """
    model_path = os.path.normpath(model_path)
    model_parent_path = os.path.dirname(os.path.abspath(model_path))
    if child_paths:
        found: set[str] = set()
        for child_path in child_paths:
            child_path = os.path.normpath(child_path)
            child_full_path = os.path.abspath(os.path.join(model_path, child_path))
            if os.path.isdir(child_full_path):
                found.update(os.path.abspath(os.path.join(dir_path, file_name))
                             for dir_path, _, names in os.walk(child_full_path) for file_name in names)
            else:
                found.add(child_full_path)
        file_names = list(found)
        artifact_names = [os.path.relpath(f, start=model_parent_path) for f in file_names]
    elif os.path.isdir(model_path):
        file_names = [os.path.abspath(os.path.join(dir_path, file_name))
                      for dir_path, _, names in os.walk(model_path) for file_name in names]
        artifact_names = [os.path.relpath(f, start=model_parent_path) for f in file_names]
    else:
        file_names = [model_path]
        artifact_names = [os.path.basename(os.path.abspath(model_path))]
    return file_names, artifact_names


class MultipartUpload:
    """A ``multipart/form-data`` body streamed from disk with its length known up front.

    The transport sends an iterable with ``__len__`` with a Content-Length and without reading it into
    memory, so multi-gigabyte models upload in constant memory. Each file part's filename is the
    percent-encoded relative path, which survives any character a path may hold.
    """

    def __init__(self, metadata: dict[str, Any], files: list[tuple[str, str]]) -> None:
        self._boundary = _BOUNDARY
        self._parts: list[tuple[bytes, str | bytes]] = [
            (self._header('name="metadata"', "application/json"), json.dumps(metadata).encode("utf-8"))]
        for local_path, relpath in files:
            disposition = 'name="file"; filename="{}"'.format(quote(relpath.replace(os.sep, "/"), safe="/"))
            self._parts.append((self._header(disposition, "application/octet-stream"), local_path))
        self._closing = "--{}--\r\n".format(self._boundary).encode("ascii")

    @property
    def content_type(self) -> str:
        return "multipart/form-data; boundary=" + self._boundary

    def _header(self, disposition: str, content_type: str) -> bytes:
        return ("--{}\r\nContent-Disposition: form-data; {}\r\nContent-Type: {}\r\n\r\n"
                .format(self._boundary, disposition, content_type).encode("utf-8"))

    def __len__(self) -> int:
        total = len(self._closing)
        for header, content in self._parts:
            size = len(content) if isinstance(content, bytes) else os.path.getsize(content)
            total += len(header) + size + 2
        return total

    def __iter__(self) -> Iterator[bytes]:
        # Coalesce small pieces: each yielded chunk is one socket send, and a small model should
        # cross loopback in one or two segments rather than a dozen.
        pending = bytearray()
        for piece in self._pieces():
            pending += piece
            if len(pending) >= _CHUNK:
                yield bytes(pending)
                pending.clear()
        if pending:
            yield bytes(pending)

    def _pieces(self) -> Iterator[bytes]:
        for header, content in self._parts:
            yield header
            if isinstance(content, bytes):
                yield content
            else:
                with open(content, "rb") as handle:
                    while chunk := handle.read(_CHUNK):
                        yield chunk
            yield b"\r\n"
        yield self._closing


def save_stream(response: "Response", target_path: str) -> None:
    """Write a streamed download to ``target_path`` (created with its folders; replaced atomically)."""
    folder = os.path.dirname(os.path.abspath(target_path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=".download-")
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in response.iter_content(_CHUNK):
                handle.write(chunk)
        os.replace(tmp_name, target_path)
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise
    finally:
        response.close()
