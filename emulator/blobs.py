"""Content-addressed file storage for registered models: one file per distinct content, named by sha256."""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Protocol

_CHUNK = 1024 * 1024


class Readable(Protocol):
    """What put() needs of a stream (a file, a request body, blobs read one after another)."""

    def read(self, size: int = -1, /) -> bytes: ...


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def path_for(self, digest: str) -> Path:
        return self.root / digest[:2] / digest

    def put(self, stream: Readable) -> tuple[str, int]:
        """Store a stream; returns (sha256, size). Writing the same content twice stores it once."""
        first = stream.read(_CHUNK)
        if len(first) < _CHUNK:  # the whole content is in hand: skip the temp file if we hold it already
            digest = hashlib.sha256(first).hexdigest()
            if self.path_for(digest).exists():
                return digest, len(first)
        hasher = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as tmp:
                hasher.update(first)
                size += len(first)
                tmp.write(first)
                while chunk := stream.read(_CHUNK):
                    hasher.update(chunk)
                    size += len(chunk)
                    tmp.write(chunk)
            digest = hasher.hexdigest()
            final = self.path_for(digest)
            if final.exists():
                os.unlink(tmp_name)
            else:
                final.parent.mkdir(exist_ok=True)
                os.chmod(tmp_name, 0o444)
                os.replace(tmp_name, final)  # atomic: readers never see a partial blob
            return digest, size
        except BaseException:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
            raise
