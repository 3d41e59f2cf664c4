"""Datastores: the workspace's default blob container (``workspaceblobstore``) and the blobs in it.

A workspace has one datastore, as every Azure workspace has from birth: ``workspaceblobstore``, an
Azure Blob container, its default. A blob is one ``datastore_blobs`` row (its path in the container and
the sha256 of its content in the content-addressed :class:`~emulator.blobs.BlobStore` that holds model
files too). No Flask here.
"""
from __future__ import annotations

import re
import sqlite3
import time
from dataclasses import dataclass
from typing import Any, Iterable

from ...blobs import BlobStore
from ...errors import BadRequest, NotFound
from ...store import Store
from ...uploads import Upload, normalize_relpath

DEFAULT_BLOB_DATASTORE = "workspaceblobstore"  # Azure's name for every workspace's default datastore


class DatastoreNotFound(NotFound):
    code = "DatastoreNotFound"


class BlobNotFound(NotFound):
    code = "BlobNotFound"


def _storage_names(workspace: dict[str, Any]) -> tuple[str, str]:
    """(account, container) as Azure names them: a storage account of the workspace, and the container
    ``azureml-blobstore-<workspace guid>``."""
    guid = workspace["properties"]["workspaceId"]
    account = ("fakeazure" + re.sub(r"[^a-z0-9]", "", guid.lower()))[:24]
    return account, "azureml-blobstore-" + guid


def body(workspace: dict[str, Any], name: str) -> dict[str, Any]:
    """The datastore service's DTO for ``name`` (only the default blob datastore exists)."""
    if name != DEFAULT_BLOB_DATASTORE:
        raise DatastoreNotFound(f"Datastore {name!r} not found in workspace {workspace['name']!r}: the local "
                                f"cloud has only the default datastore {DEFAULT_BLOB_DATASTORE!r}.")
    account, container = _storage_names(workspace)
    return {
        "name": DEFAULT_BLOB_DATASTORE,
        "dataStoreType": "AzureBlob",
        "isDefault": True,
        "hasBeenValidated": True,
        "azureStorageSection": {
            "accountName": account,
            "containerName": container,
            "endpoint": "core.windows.net",
            "protocol": "https",
            "credentialType": "AccountKey",
            "subscriptionId": workspace.get("subscriptionId"),
            "resourceGroup": workspace.get("resourceGroup"),
        },
    }


def listing(workspace: dict[str, Any]) -> list[dict[str, Any]]:
    return [body(workspace, DEFAULT_BLOB_DATASTORE)]


@dataclass(frozen=True)
class Uploaded:
    path: str
    stored: bool  # False: it existed and overwrite was off


def upload(store: Store, blobs: BlobStore, ws_id: str, datastore: str, uploads: Iterable[Upload],
           overwrite: bool) -> list[Uploaded]:
    """Store each upload at its path in the container; an existing blob is kept unless ``overwrite``."""
    uploads = list(uploads)
    paths = [normalize_relpath(u.relpath, "blob", "InvalidBlobPath") for u in uploads]
    if len(set(paths)) != len(paths):
        raise BadRequest("The upload names the same blob path twice.", code="InvalidBlobPath")
    # Content first, outside the transaction (a large upload must not hold the write lock).
    stored = [(path, *blobs.put(upload.stream)) for path, upload in zip(paths, uploads)]
    results = []
    with store.transaction() as conn:
        now = time.time()
        for path, digest, size in stored:
            _refuse_file_folder_clash(conn, ws_id, datastore, path)
            exists = _blob(conn, ws_id, datastore, path) is not None
            if exists and not overwrite:
                results.append(Uploaded(path, False))
                continue
            conn.execute("INSERT OR REPLACE INTO datastore_blobs (workspace_id, datastore, relpath, sha256, size, "
                         "modified_at) VALUES (?, ?, ?, ?, ?, ?)", (ws_id, datastore, path, digest, size, now))
            results.append(Uploaded(path, True))
    return results


def _refuse_file_folder_clash(conn: sqlite3.Connection, ws_id: str, datastore: str, path: str) -> None:
    # A blob container allows 'a' and 'a/b' side by side, but neither download nor a dataset can lay both
    # out on disk (the SDK raises "Found non empty file ... same name as a folder"): refused at the door.
    parents = ["/".join(path.split("/")[:i]) for i in range(1, path.count("/") + 1)]
    clash = [p for p in parents if _blob(conn, ws_id, datastore, p) is not None]
    below = conn.execute("SELECT relpath FROM datastore_blobs WHERE workspace_id = ? AND datastore = ? AND "
                         "substr(relpath, 1, ?) = ? LIMIT 1", (ws_id, datastore, len(path) + 1, path + "/")).fetchone()
    if clash or below is not None:
        raise BadRequest(f"Blob path {path!r} clashes with an existing {'file' if clash else 'folder'} "
                         f"{clash[0] if clash else path!r} of the same name.", code="BlobPathConflict")


def _blob(conn: sqlite3.Connection, ws_id: str, datastore: str, path: str) -> sqlite3.Row | None:
    return conn.execute("SELECT relpath, sha256, size, modified_at FROM datastore_blobs WHERE workspace_id = ? AND "
                        "datastore = ? AND relpath = ?", (ws_id, datastore, path)).fetchone()


def list_blobs(conn: sqlite3.Connection, ws_id: str, datastore: str, prefix: str = "") -> list[dict[str, Any]]:
    """Blobs whose path starts with ``prefix`` (plain text, as Azure's ``name_starts_with``), by path."""
    rows = conn.execute("SELECT relpath, sha256, size, modified_at FROM datastore_blobs WHERE workspace_id = ? "
                        "AND datastore = ? AND substr(relpath, 1, ?) = ? ORDER BY relpath",
                        (ws_id, datastore, len(prefix), prefix)).fetchall()
    return [_entry(row) for row in rows]


def blob(conn: sqlite3.Connection, ws_id: str, datastore: str, path: str) -> dict[str, Any]:
    row = _blob(conn, ws_id, datastore, normalize_relpath(path, "blob", "InvalidBlobPath"))
    if row is None:
        raise BlobNotFound(f"The blob {path!r} does not exist in datastore {datastore!r}.")
    return _entry(row)


def _entry(row: sqlite3.Row) -> dict[str, Any]:
    return {"path": row["relpath"], "sha256": row["sha256"], "size": row["size"],
            "lastModified": row["modified_at"]}
