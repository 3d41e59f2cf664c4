"""SQLite state under FAKE_AZURE_HOME. Every write goes through :meth:`Store.transaction`
(``BEGIN IMMEDIATE``), so a crash mid-operation leaves the previous state, never half of a change.

Homes outlive releases: the schema's version is SQLite's ``PRAGMA user_version``. Opening a home
applies, in one transaction, every migration above the version it holds, then creates the tables of
SCHEMA it lacks. A new table needs no migration; a change to an existing one (a column, a rename, a
data move) does."""
from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

# The latest schema; every statement idempotent (IF NOT EXISTS), run on each open after the migrations.
SCHEMA = """
CREATE TABLE IF NOT EXISTS workspaces (
    id TEXT PRIMARY KEY,
    subscription_id TEXT NOT NULL,
    resource_group TEXT NOT NULL,
    name TEXT NOT NULL,
    location TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS models (
    workspace_id TEXT NOT NULL,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (workspace_id, name, version)
);
CREATE TABLE IF NOT EXISTS model_files (
    workspace_id TEXT NOT NULL,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    relpath TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, name, version, relpath)
);
CREATE TABLE IF NOT EXISTS computes (
    workspace_id TEXT NOT NULL,
    name TEXT NOT NULL,
    state TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (workspace_id, name)
);
CREATE TABLE IF NOT EXISTS environments (
    workspace_id TEXT NOT NULL,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (workspace_id, name, version)
);
CREATE TABLE IF NOT EXISTS assets (
    workspace_id TEXT NOT NULL,
    id TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (workspace_id, id)
);
CREATE TABLE IF NOT EXISTS asset_files (
    asset_id TEXT NOT NULL,
    relpath TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (asset_id, relpath)
);
CREATE TABLE IF NOT EXISTS saved_datasets (
    workspace_id TEXT NOT NULL,
    id TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (workspace_id, id)
);
CREATE TABLE IF NOT EXISTS datasets (
    workspace_id TEXT NOT NULL,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    saved_id TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (workspace_id, name, version)
);
CREATE TABLE IF NOT EXISTS services (
    workspace_id TEXT NOT NULL,
    name TEXT NOT NULL,
    compute_name TEXT,
    state TEXT NOT NULL,
    body TEXT NOT NULL,
    secrets TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (workspace_id, name)
);
CREATE TABLE IF NOT EXISTS gateways (
    workspace_id TEXT NOT NULL,
    cluster TEXT NOT NULL,
    port INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, cluster)
);
CREATE TABLE IF NOT EXISTS kubernetes_computes (
    workspace_id TEXT NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (workspace_id, name)
);
CREATE TABLE IF NOT EXISTS managed_clusters (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS listeners (
    name TEXT PRIMARY KEY,
    port INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS operations (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    status TEXT NOT NULL,
    polls INTEGER NOT NULL DEFAULT 0,
    outcome TEXT NOT NULL,
    created_at REAL NOT NULL,
    finished_at REAL
);
-- SDK v2 (emulator/arm): model, environment and code versions as their ARM bodies, keyed by kind.
CREATE TABLE IF NOT EXISTS arm_assets (
    workspace_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (workspace_id, kind, name, version)
);
-- SDK v2 online endpoints (emulator/arm/endpoints.py): the ARM body, its keys and the secret its tokens are
-- signed with.
CREATE TABLE IF NOT EXISTS online_endpoints (
    workspace_id TEXT NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    primary_key TEXT NOT NULL,
    secondary_key TEXT NOT NULL,
    token_secret TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (workspace_id, name)
);
-- An endpoint's deployments (their ARM bodies), keyed by endpoint.
CREATE TABLE IF NOT EXISTS online_deployments (
    workspace_id TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (workspace_id, endpoint, name)
);
-- ARM long-running operations of the v2 routes (the Azure-AsyncOperation / Location URLs the client polls).
CREATE TABLE IF NOT EXISTS arm_operations (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    created_at REAL NOT NULL
);
-- The workspace storage account's blobs (emulator/arm/storage.py): content in the BlobStore by sha256.
CREATE TABLE IF NOT EXISTS storage_blobs (
    workspace_id TEXT NOT NULL,
    account TEXT NOT NULL,
    container TEXT NOT NULL,
    name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    metadata TEXT NOT NULL,
    etag TEXT NOT NULL,
    created_at REAL NOT NULL,
    modified_at REAL NOT NULL,
    PRIMARY KEY (account, container, name)
);
-- Blocks staged by Put Block, until Put Block List commits them (or the blob is written whole).
CREATE TABLE IF NOT EXISTS storage_blocks (
    workspace_id TEXT NOT NULL,
    account TEXT NOT NULL,
    container TEXT NOT NULL,
    name TEXT NOT NULL,
    block_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (account, container, name, block_id)
);
"""


def statements_of(script: str) -> list[str]:
    """A script's statements, one each (``executescript`` would commit the open transaction)."""
    statements, pending = [], ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if pending.strip() and not all(line.strip().startswith("--") or not line.strip()
                                   for line in pending.splitlines()):
        raise ValueError(f"incomplete SQL statement: {pending.strip()!r}")
    return statements


@dataclass(frozen=True)
class Migration:
    """One step of the schema, applied to a home whose user_version is below ``version``."""

    version: int
    description: str
    script: str = ""

    def statements(self) -> list[str]:
        return statements_of(self.script)


# Append only, versions 1, 2, 3...: a released migration is never edited (homes already hold it).
MIGRATIONS: tuple[Migration, ...] = (
    # Homes of release 0.1.0 hold user_version 0; their tables stay as they are (SCHEMA adds the new ones).
    Migration(1, "versioned homes begin"),
)
SCHEMA_VERSION = MIGRATIONS[-1].version


class StoreVersionError(RuntimeError):
    """The home was written by a newer release: opening it could lose what that release stores."""


# Tables whose rows belong to one workspace (a workspace_id column): a workspace's delete empties them.
WORKSPACE_TABLES = ("storage_blocks", "storage_blobs", "arm_assets", "online_endpoints", "online_deployments",
                    "kubernetes_computes",
                    "arm_operations", "operations", "gateways", "services", "assets", "environments", "computes",
                    "model_files", "models", "saved_datasets", "datasets")


class Store:
    """One SQLite file; one connection per thread (sqlite3 connections are not shareable)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._migrate()

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=30, check_same_thread=True)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: committed on success, rolled back on any exception."""
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    @property
    def schema_version(self) -> int:
        return int(self.read().execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        # BEGIN IMMEDIATE: two processes opening one old home apply each migration once.
        with self.transaction() as conn:
            current = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if current > SCHEMA_VERSION:
                raise StoreVersionError(
                    f"{self.path} holds schema version {current}, written by a newer fake-azure; this release "
                    f"knows versions up to {SCHEMA_VERSION}: upgrade fake-azure or use another FAKE_AZURE_HOME")
            for migration in MIGRATIONS:
                if migration.version > current:
                    for statement in migration.statements():
                        conn.execute(statement)
            for statement in statements_of(SCHEMA):
                conn.execute(statement)
            if current != SCHEMA_VERSION:
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def read(self) -> sqlite3.Connection:
        """A connection for reads outside a transaction (each statement sees committed state)."""
        return self._connection()

    def reset(self) -> None:
        """Forget every resource (the admin API's reset)."""
        with self.transaction() as conn:
            for table in (*WORKSPACE_TABLES, "asset_files", "workspaces", "managed_clusters"):
                conn.execute(f"DELETE FROM {table}")
