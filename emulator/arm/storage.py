"""The workspace storage account (no Flask here): the blob subset ``azure-storage-blob`` uses for uploads and
downloads (put blob, put block and block list, metadata, properties, get, list), with the content in the
daemon's content-addressed :class:`~emulator.blobs.BlobStore` (the store v1 models use) and the names in
``storage_blobs``.

Each workspace has one account, named from its id (:func:`account_name`); a request names its account by
host (``{account}.blob.core.localhost``) and is allowed by the account's SAS signature (:func:`sas_token`)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import sqlite3
import time
from dataclasses import dataclass
from typing import Any, BinaryIO, Iterator

from ..blobs import BlobStore
from ..errors import EmulatorError
from ..paths import relative_path

BLOB_HOST_SUFFIX = ".blob.core.localhost"
STORAGE_SUFFIX = "core.localhost"  # the cloud metadata's suffixes.storage (with the listener's port)
DEFAULT_CONTAINER_PREFIX = "azureml-blobstore-"
SAS_VERSION = "2021-08-06"
# Azure: container names are 3-63 lowercase letters, digits and single hyphens; blob names up to 1024.
CONTAINER = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}")
MAX_BLOB_NAME = 1024
MAX_BLOCK_ID = 64  # the decoded id; Azure's limit


class StorageError(EmulatorError):
    """An error of the storage service: rendered as its XML ``<Error>`` with ``x-ms-error-code``."""


def _error(status: int, code: str, message: str) -> StorageError:
    return StorageError(message, code=code, status_code=status)


def account_name(workspace: dict[str, Any]) -> str:
    """The workspace's storage account: 3-24 lowercase letters and digits, from the workspace's guid (the
    name v1's datastore DTO shows too)."""
    return ("fakeazure" + re.sub(r"[^a-z0-9]", "", workspace["properties"]["workspaceId"].lower()))[:24]


def default_container(workspace_guid: str) -> str:
    return DEFAULT_CONTAINER_PREFIX + workspace_guid


def signature(token: str, account: str) -> str:
    return base64.urlsafe_b64encode(hmac.new(token.encode(), f"sas:{account}".encode(),
                                             hashlib.sha256).digest()).decode().rstrip("=")


def sas_token(token: str, account: str, expiry: float) -> str:
    """A SAS query string for the account; only its ``sig`` is checked (documented in docs/parity.md)."""
    expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expiry))
    return f"sv={SAS_VERSION}&ss=b&srt=sco&sp=racwdl&se={expires}&spr=https&sig={signature(token, account)}"


def check_signature(token: str, account: str, sig: str | None) -> None:
    if not sig or not hmac.compare_digest(sig.encode(), signature(token, account).encode()):
        raise _error(403, "AuthenticationFailed", "Server failed to authenticate the request. Make sure the value "
                                                  "of the sas token is formed correctly including the signature.")


def check_container(name: str) -> str:
    if not CONTAINER.fullmatch(name or ""):
        raise _error(400, "InvalidResourceName", "The specifed resource name contains invalid characters.")
    return name


def check_blob_name(name: str) -> str:
    if len(name) > MAX_BLOB_NAME:
        raise _error(400, "InvalidResourceName", "The specifed resource name length is not within the permissible "
                                                 "limits.")
    # A blob name is a key, never a file path (content is stored by sha256); still, no control characters,
    # backslashes or '.'/'..' segments, which clients would read as a path that leaves its folder. A
    # trailing '/' is allowed: the client probes "folder/" to tell a folder from a file.
    try:
        relative_path(name.rstrip("/") or name, "blob name", "InvalidResourceName", canonical=True)
    except EmulatorError as exc:
        raise _error(400, "InvalidResourceName", exc.message) from exc
    return name


@dataclass(frozen=True)
class Blob:
    container: str
    name: str
    sha256: str
    size: int
    content_type: str
    metadata: dict[str, str]
    etag: str
    created_at: float
    modified_at: float


def _blob(row: sqlite3.Row) -> Blob:
    return Blob(row["container"], row["name"], row["sha256"], row["size"], row["content_type"],
                json.loads(row["metadata"]), row["etag"], row["created_at"], row["modified_at"])


def _etag(sha256: str, now: float) -> str:
    return '"0x' + hashlib.sha256(f"{sha256}:{now}".encode()).hexdigest()[:15].upper() + '"'


def get(conn: sqlite3.Connection, account: str, container: str, name: str) -> Blob:
    row = conn.execute("SELECT * FROM storage_blobs WHERE account = ? AND container = ? AND name = ?",
                       (account, container, name)).fetchone()
    if row is None:
        raise _error(404, "BlobNotFound", "The specified blob does not exist.")
    return _blob(row)


def write(conn: sqlite3.Connection, workspace_id: str, account: str, container: str, name: str, sha256: str,
          size: int, content_type: str, metadata: dict[str, str], now: float) -> Blob:
    """Create or replace a committed blob (its staged blocks are dropped, as Azure does)."""
    row = conn.execute("SELECT created_at FROM storage_blobs WHERE account = ? AND container = ? AND name = ?",
                       (account, container, name)).fetchone()
    created = row["created_at"] if row else now
    etag = _etag(sha256, now)
    conn.execute("INSERT OR REPLACE INTO storage_blobs (workspace_id, account, container, name, sha256, size, "
                 "content_type, metadata, etag, created_at, modified_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                 (workspace_id, account, container, name, sha256, size, content_type, json.dumps(metadata), etag,
                  created, now))
    conn.execute("DELETE FROM storage_blocks WHERE account = ? AND container = ? AND name = ?",
                 (account, container, name))
    return Blob(container, name, sha256, size, content_type, metadata, etag, created, now)


def set_metadata(conn: sqlite3.Connection, account: str, container: str, name: str, metadata: dict[str, str],
                 now: float) -> Blob:
    blob = get(conn, account, container, name)
    etag = _etag(blob.sha256, now)
    conn.execute("UPDATE storage_blobs SET metadata = ?, etag = ?, modified_at = ? WHERE account = ? AND "
                 "container = ? AND name = ?", (json.dumps(metadata), etag, now, account, container, name))
    return Blob(container, name, blob.sha256, blob.size, blob.content_type, metadata, etag, blob.created_at, now)


def stage_block(conn: sqlite3.Connection, workspace_id: str, account: str, container: str, name: str,
                block_id: str, sha256: str, size: int) -> None:
    if not block_id or len(_decoded_id(block_id)) > MAX_BLOCK_ID:
        raise _error(400, "InvalidQueryParameterValue", "Value for one of the query parameters specified in the "
                                                        "request URI is invalid (blockid).")
    conn.execute("INSERT OR REPLACE INTO storage_blocks (workspace_id, account, container, name, block_id, sha256, "
                 "size) VALUES (?,?,?,?,?,?,?)", (workspace_id, account, container, name, block_id, sha256, size))


def _decoded_id(block_id: str) -> bytes:
    try:
        return base64.b64decode(block_id, validate=True)
    except ValueError:
        raise _error(400, "InvalidQueryParameterValue", "The block id is not valid base64.") from None


def block_list_parts(conn: sqlite3.Connection, account: str, container: str, name: str,
                     block_ids: list[str]) -> list[tuple[str, int]]:
    """The (sha256, size) of each block a Put Block List names, in order; 400 InvalidBlockList if one is
    not staged (Azure also accepts committed blocks; the SDK only commits what it staged)."""
    rows = {row["block_id"]: (row["sha256"], row["size"]) for row in conn.execute(
        "SELECT block_id, sha256, size FROM storage_blocks WHERE account = ? AND container = ? AND name = ?",
        (account, container, name))}
    missing = [b for b in block_ids if b not in rows]
    if missing:
        raise _error(400, "InvalidBlockList", "The specified block list is invalid.")
    return [rows[b] for b in block_ids]


class ConcatenatedBlobs:
    """A read-only stream over blobs of the store, one after another (a block list being committed)."""

    def __init__(self, store: BlobStore, digests: list[str]) -> None:
        self._paths = iter([store.path_for(d) for d in digests])
        self._current: BinaryIO | None = None

    def read(self, size: int = -1) -> bytes:
        # Fills the request across block boundaries: a short read means the end (BlobStore.put relies on it).
        parts: list[bytes] = []
        wanted = size
        while wanted != 0:
            if self._current is None:
                path = next(self._paths, None)
                if path is None:
                    break
                self._current = open(path, "rb")
            chunk = self._current.read(wanted)
            if not chunk:
                self._current.close()
                self._current = None
                continue
            parts.append(chunk)
            if wanted > 0:
                wanted -= len(chunk)
        return b"".join(parts)


def list_blobs(conn: sqlite3.Connection, account: str, container: str, prefix: str, marker: str,
               limit: int) -> tuple[list[Blob], str]:
    """Blobs of a container whose names start with ``prefix``, after ``marker``, by name; and the next marker."""
    rows = conn.execute("SELECT * FROM storage_blobs WHERE account = ? AND container = ? AND substr(name, 1, ?) = ?"
                        " AND name > ? ORDER BY name LIMIT ?",
                        (account, container, len(prefix), prefix, marker, limit + 1)).fetchall()
    blobs = [_blob(r) for r in rows[:limit]]
    return blobs, (blobs[-1].name if len(rows) > limit else "")


def read_range(store: BlobStore, blob: Blob, start: int, end: int) -> Iterator[bytes]:
    """The bytes ``start``..``end`` (inclusive) of a blob, in chunks."""
    with open(store.path_for(blob.sha256), "rb") as handle:
        handle.seek(start)
        left = end - start + 1
        while left > 0:
            chunk = handle.read(min(left, 1024 * 1024))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk


def http_date(epoch: float) -> str:
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(epoch))


def properties_headers(blob: Blob) -> dict[str, Any]:
    headers = {"ETag": blob.etag, "Last-Modified": http_date(blob.modified_at),
               "x-ms-creation-time": http_date(blob.created_at), "x-ms-blob-type": "BlockBlob",
               "x-ms-lease-state": "available", "x-ms-lease-status": "unlocked", "x-ms-server-encrypted": "true",
               "Content-Type": blob.content_type, "Accept-Ranges": "bytes"}
    headers.update({f"x-ms-meta-{k}": v for k, v in blob.metadata.items()})
    return headers
