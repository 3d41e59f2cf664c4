"""Source assets: the entry script or source directory a deployment runs, stored content-addressed."""
from __future__ import annotations

import sqlite3
import time
import uuid
from typing import Any

from ...blobs import BlobStore
from ...errors import BadRequest, NotFound
from ...store import Store
from ...uploads import Upload, normalize_relpath


def create(store: Store, blobs: BlobStore, ws_id: str, uploads: list[Upload]) -> dict[str, Any]:
    if not uploads:
        raise BadRequest("An asset needs at least one file.", code="EmptyAsset")
    relpaths = [normalize_relpath(u.relpath, "source file", "InvalidSourceFilePath") for u in uploads]
    if len(set(relpaths)) != len(relpaths):
        raise BadRequest("An asset cannot hold the same path twice.", code="DuplicateSourceFilePath")
    stored = [(relpath, *blobs.put(upload.stream)) for relpath, upload in zip(relpaths, uploads)]
    asset_id = uuid.uuid4().hex
    with store.transaction() as conn:
        conn.execute("INSERT INTO assets (workspace_id, id, created_at) VALUES (?, ?, ?)",
                     (ws_id, asset_id, time.time()))
        conn.executemany("INSERT INTO asset_files (asset_id, relpath, sha256, size) VALUES (?, ?, ?, ?)",
                         [(asset_id, relpath, digest, size) for relpath, digest, size in stored])
    return {"id": asset_id, "files": [{"path": p, "sha256": d, "size": s} for p, d, s in stored]}


def files(conn: sqlite3.Connection, ws_id: str, asset_id: str) -> dict[str, str]:
    """relative path -> sha256 of every file of the asset."""
    if conn.execute("SELECT 1 FROM assets WHERE workspace_id = ? AND id = ?", (ws_id, asset_id)).fetchone() is None:
        raise NotFound(f"Asset {asset_id} not found in the workspace.", code="AssetNotFound")
    rows = conn.execute("SELECT relpath, sha256 FROM asset_files WHERE asset_id = ?", (asset_id,)).fetchall()
    return {row["relpath"]: row["sha256"] for row in rows}
