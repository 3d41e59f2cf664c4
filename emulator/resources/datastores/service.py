"""Datastores: the workspace's default blob container (``workspaceblobstore``) and the blobs in it.

A workspace has one datastore, as every Azure workspace has from birth: ``workspaceblobstore``, an
Azure Blob container of the workspace's storage account, its default. Its blobs are the storage account's
(:mod:`emulator.arm.storage`, which SDK v2 clients reach through the account's own endpoint): a row in
``storage_blobs`` naming the sha256 of the content in the content-addressed :class:`~emulator.blobs.BlobStore`
that holds model files too. So a file uploaded with v1's ``upload_files`` is in v2's ``workspaceblobstore``,
and the other way round. No Flask here.
"""
from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from typing import Any, Iterable

from ...arm import storage
from ...blobs import BlobStore
from ...errors import BadRequest, NotFound
from ...store import Store
from ...uploads import Upload, normalize_relpath

DEFAULT_BLOB_DATASTORE = "workspaceblobstore"  # Azure's name for every workspace's default datastore


class DatastoreNotFound(NotFound):
    code = "DatastoreNotFound"


class BlobNotFound(NotFound):
    code = "BlobNotFound"


CONTENT_TYPE = "application/octet-stream"  # what the SDK's upload_blob sets for a file
_PAGE = 5000


@dataclass(frozen=True)
class Container:
    """Where a datastore's blobs live: the workspace's storage account and one of its containers."""

    workspace_id: str
    account: str
    name: str


def container(workspace: dict[str, Any], datastore: str) -> Container:
    """The container behind ``datastore`` (404 for a datastore the workspace does not have)."""
    body(workspace, datastore)
    return Container(workspace["id"], storage.account_name(workspace),
                     storage.default_container(workspace["properties"]["workspaceId"]))


def body(workspace: dict[str, Any], name: str) -> dict[str, Any]:
    """The datastore service's DTO for ``name`` (only the default blob datastore exists)."""
    if name != DEFAULT_BLOB_DATASTORE:
        raise DatastoreNotFound(f"Datastore {name!r} not found in workspace {workspace['name']!r}: the local "
                                f"cloud has only the default datastore {DEFAULT_BLOB_DATASTORE!r}.")
    account, container_name = (storage.account_name(workspace),
                               storage.default_container(workspace["properties"]["workspaceId"]))
    return {
        "name": DEFAULT_BLOB_DATASTORE,
        "dataStoreType": "AzureBlob",
        "isDefault": True,
        "hasBeenValidated": True,
        "azureStorageSection": {
            "accountName": account,
            "containerName": container_name,
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


def upload(store: Store, blobs: BlobStore, where: Container, uploads: Iterable[Upload],
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
            _refuse_file_folder_clash(conn, where, path)
            if _blob(conn, where, path) is not None and not overwrite:
                results.append(Uploaded(path, False))
                continue
            storage.write(conn, where.workspace_id, where.account, where.name, path, digest, size, CONTENT_TYPE, {},
                          now)
            results.append(Uploaded(path, True))
    return results


def _refuse_file_folder_clash(conn: sqlite3.Connection, where: Container, path: str) -> None:
    # A blob container allows 'a' and 'a/b' side by side, but neither download nor a dataset can lay both
    # out on disk (the SDK raises "Found non empty file ... same name as a folder"): refused at the door.
    parents = ["/".join(path.split("/")[:i]) for i in range(1, path.count("/") + 1)]
    clash = [p for p in parents if _blob(conn, where, p) is not None]
    below, _ = storage.list_blobs(conn, where.account, where.name, path + "/", "", 1)
    if clash or below:
        raise BadRequest(f"Blob path {path!r} clashes with an existing {'file' if clash else 'folder'} "
                         f"{clash[0] if clash else path!r} of the same name.", code="BlobPathConflict")


def _blob(conn: sqlite3.Connection, where: Container, path: str) -> storage.Blob | None:
    try:
        return storage.get(conn, where.account, where.name, path)
    except storage.StorageError as exc:
        if exc.status_code == 404:
            return None
        raise


def list_blobs(conn: sqlite3.Connection, where: Container, prefix: str = "") -> list[dict[str, Any]]:
    """Blobs whose path starts with ``prefix`` (plain text, as Azure's ``name_starts_with``), by path.

    Blobs written through the storage endpoint that no file path can name (``a/``, ``a//b``: a folder marker
    or an empty segment) are left out: the SDK could not lay them out on disk either."""
    found: list[dict[str, Any]] = []
    marker = ""
    while True:
        page, marker = storage.list_blobs(conn, where.account, where.name, prefix, marker, _PAGE)
        found.extend(_entry(b) for b in page if _is_file_path(b.name))
        if not marker:
            return found


def _is_file_path(name: str) -> bool:
    try:
        normalize_relpath(name, "blob", "InvalidBlobPath")
        return True
    except BadRequest:
        return False


def blob(conn: sqlite3.Connection, where: Container, path: str) -> dict[str, Any]:
    found = _blob(conn, where, normalize_relpath(path, "blob", "InvalidBlobPath"))
    if found is None:
        raise BlobNotFound(f"The blob {path!r} does not exist in datastore {DEFAULT_BLOB_DATASTORE!r}.")
    return _entry(found)


def _entry(found: storage.Blob) -> dict[str, Any]:
    return {"path": found.name, "sha256": found.sha256, "size": found.size, "lastModified": found.modified_at}
