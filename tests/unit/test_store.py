"""The SQLite store: transactions are all-or-nothing, reset empties every table, state lives in the file."""
from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest

from emulator.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "sub" / "state.db")


def _tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    return sorted(r[0] for r in rows)


def _count(store: Store, table: str) -> int:
    return store.read().execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def _insert_dummy_row(conn: sqlite3.Connection, table: str, tag: str) -> None:
    """One row in any table, built from its schema (so tables added later are covered too)."""
    columns = conn.execute(f"PRAGMA table_info({table})").fetchall()
    values = []
    for column in columns:
        declared = (column["type"] or "").upper()
        if "INT" in declared:
            values.append(1)
        elif "REAL" in declared:
            values.append(1.5)
        else:
            values.append(f"{tag}-{column['name']}")
    names = ", ".join(c["name"] for c in columns)
    marks = ", ".join("?" for _ in columns)
    conn.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", values)


def _add_workspace(conn: sqlite3.Connection, ws_id: str) -> None:
    conn.execute("INSERT INTO workspaces (id, subscription_id, resource_group, name, location, body, created_at) "
                 "VALUES (?, 's', 'rg', 'n', 'eastus', '{}', 0)", (ws_id,))


def test_creates_the_schema_and_parent_dirs(tmp_path: Path) -> None:
    store = Store(tmp_path / "a" / "b" / "state.db")
    assert (tmp_path / "a" / "b" / "state.db").exists()
    assert _tables(store.read()) == ["arm_assets", "arm_operations", "asset_files", "assets", "computes", "datasets",
                                     "environments", "gateways", "kubernetes_computes", "listeners", "managed_clusters",
                                     "model_files",
                                     "models",
                                     "online_deployments",
                                     "online_endpoints", "operations", "saved_datasets", "services",
                                     "storage_blobs", "storage_blocks", "workspaces"]


def test_committed_transaction_is_visible(store: Store) -> None:
    with store.transaction() as conn:
        _add_workspace(conn, "/ws/1")
    assert _count(store, "workspaces") == 1


def test_exception_rolls_back_every_write_of_the_transaction(store: Store) -> None:
    with store.transaction() as conn:
        _add_workspace(conn, "/ws/keep")
    with pytest.raises(RuntimeError, match="mid-operation"):
        with store.transaction() as conn:
            _add_workspace(conn, "/ws/partial")
            conn.execute("INSERT INTO computes (workspace_id, name, state, body, created_at) "
                         "VALUES ('/ws/partial', 'aks', 'Creating', '{}', 0)")
            conn.execute("UPDATE workspaces SET location = 'westus' WHERE id = '/ws/keep'")
            raise RuntimeError("mid-operation")
    rows = store.read().execute("SELECT id, location FROM workspaces").fetchall()
    assert [(r["id"], r["location"]) for r in rows] == [("/ws/keep", "eastus")]
    assert _count(store, "computes") == 0


def test_base_exceptions_roll_back_too(store: Store) -> None:
    with pytest.raises(KeyboardInterrupt):
        with store.transaction() as conn:
            _add_workspace(conn, "/ws/interrupted")
            raise KeyboardInterrupt
    assert _count(store, "workspaces") == 0


def test_failed_statement_rolls_back_earlier_statements(store: Store) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        with store.transaction() as conn:
            _add_workspace(conn, "/ws/dup")
            _add_workspace(conn, "/ws/dup")  # primary key violation
    assert _count(store, "workspaces") == 0


def test_store_is_usable_after_a_rollback(store: Store) -> None:
    with pytest.raises(ValueError):
        with store.transaction() as conn:
            _add_workspace(conn, "/ws/x")
            raise ValueError
    with store.transaction() as conn:
        _add_workspace(conn, "/ws/x")
    assert _count(store, "workspaces") == 1


def test_uncommitted_writes_are_invisible_to_other_connections(store: Store, tmp_path: Path) -> None:
    other = Store(store.path)
    seen: list[int] = []
    with store.transaction() as conn:
        _add_workspace(conn, "/ws/pending")
        reader = threading.Thread(target=lambda: seen.append(_count(other, "workspaces")))
        reader.start()
        reader.join(timeout=30)
    assert seen == [0]
    assert _count(other, "workspaces") == 1


def test_reset_empties_every_table(store: Store) -> None:
    tables = _tables(store.read())
    with store.transaction() as conn:
        for table in tables:
            _insert_dummy_row(conn, table, "a")
            _insert_dummy_row(conn, table, "b")
    assert all(_count(store, t) == 2 for t in tables)
    store.reset()
    # The daemon's own listener ports are not resources: kept, so a restart after a reset keeps its URLs.
    assert {t: _count(store, t) for t in tables} == {t: 2 if t == "listeners" else 0 for t in tables}
    assert _tables(store.read()) == tables  # the schema itself survives


def test_reset_of_an_empty_store_is_fine(store: Store) -> None:
    store.reset()
    assert _count(store, "workspaces") == 0


def test_state_survives_reopening_the_file(store: Store) -> None:
    with store.transaction() as conn:
        _add_workspace(conn, "/ws/durable")
    reopened = Store(store.path)
    assert [r["id"] for r in reopened.read().execute("SELECT id FROM workspaces")] == ["/ws/durable"]


def test_each_thread_gets_its_own_connection(store: Store) -> None:
    main_conn = store.read()
    other: list[sqlite3.Connection] = []
    thread = threading.Thread(target=lambda: other.append(store.read()))
    thread.start()
    thread.join(timeout=30)
    assert other and other[0] is not main_conn
    assert store.read() is main_conn


def test_rows_are_addressable_by_column_name(store: Store) -> None:
    with store.transaction() as conn:
        _add_workspace(conn, "/ws/row")
    row = store.read().execute("SELECT * FROM workspaces").fetchone()
    assert row["id"] == "/ws/row" and row["location"] == "eastus"


def test_workspace_tables_are_every_table_with_a_workspace_id(store: Store) -> None:
    from emulator.store import WORKSPACE_TABLES

    conn = store.read()
    with_column = {t for t in _tables(conn) if t != "workspaces"
                   and any(c["name"] == "workspace_id" for c in conn.execute(f"PRAGMA table_info({t})"))}
    assert set(WORKSPACE_TABLES) == with_column


def test_deleting_a_workspace_deletes_every_row_of_it(store: Store) -> None:
    from emulator.resources.workspaces import service as workspaces
    from emulator.store import WORKSPACE_TABLES

    with store.transaction() as conn:
        _add_workspace(conn, "/ws/1")
        for table in WORKSPACE_TABLES:
            _insert_dummy_row(conn, table, "gone")
            conn.execute(f"UPDATE {table} SET workspace_id = '/ws/1'")
    with store.transaction() as conn:
        workspaces.delete(conn, "/ws/1")
    assert {table: _count(store, table) for table in (*WORKSPACE_TABLES, "workspaces")} == \
        {table: 0 for table in (*WORKSPACE_TABLES, "workspaces")}


# --- schema versions ----------------------------------------------------------------------------------

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _release_0_1_0_home(path: Path) -> dict:
    """A home as fake-azure 0.1.0 wrote it (its schema, user_version 0) holding one healthy AKS service."""
    body = {"name": "mnist-svc", "computeType": "AKS", "computeName": "gpu-cluster", "state": "Healthy",
            "models": [{"name": "mnist", "version": 1, "id": "mnist:1"}], "kvTags": {"team": "vision"}}
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript((FIXTURES / "home-0.1.0-schema.sql").read_text())
    _add_workspace(conn, "/ws/old")
    conn.execute("INSERT INTO services (workspace_id, name, compute_name, state, body, secrets, created_at) "
                 "VALUES ('/ws/old', 'mnist-svc', 'gpu-cluster', 'Healthy', ?, ?, 1.0)",
                 (json.dumps(body), json.dumps({"primaryKey": "k1", "secondaryKey": "k2"})))
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
    conn.close()
    return body


def test_a_home_written_by_release_0_1_0_opens_and_keeps_its_services(tmp_path: Path) -> None:
    from emulator.resources.services import service as services
    from emulator.store import SCHEMA_VERSION

    body = _release_0_1_0_home(tmp_path / "state.db")
    store = Store(tmp_path / "state.db")
    assert store.schema_version == SCHEMA_VERSION >= 1
    conn = store.read()
    assert services.get(conn, "/ws/old", "mnist-svc") == body
    assert services.list_all(conn, "/ws/old", model_id="mnist:1") == [body]
    assert services.secrets_of(conn, "/ws/old", "mnist-svc") == {"primaryKey": "k1", "secondaryKey": "k2"}
    with store.transaction() as write:  # and it stays writable
        _insert_dummy_row(write, "operations", "after-upgrade")
    assert _count(Store(tmp_path / "state.db"), "services") == 1


def test_a_new_home_starts_at_the_latest_version(store: Store) -> None:
    from emulator.store import SCHEMA_VERSION

    assert store.schema_version == SCHEMA_VERSION
    assert Store(store.path).schema_version == SCHEMA_VERSION


def test_migrations_are_numbered_1_to_n_in_order() -> None:
    from emulator.store import MIGRATIONS, SCHEMA_VERSION

    assert [m.version for m in MIGRATIONS] == list(range(1, SCHEMA_VERSION + 1))


def test_a_home_of_a_newer_release_is_refused_untouched(tmp_path: Path) -> None:
    from emulator.store import SCHEMA_VERSION, StoreVersionError

    path = tmp_path / "state.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE future (x TEXT)")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreVersionError, match=f"schema version {SCHEMA_VERSION + 1}"):
        Store(path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
    assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")] == ["future"]


def test_a_failing_migration_leaves_the_home_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from emulator import store as store_module

    body = _release_0_1_0_home(tmp_path / "state.db")
    broken = store_module.Migration(len(store_module.MIGRATIONS) + 1, "broken", "ALTER TABLE services ADD x TEXT;\n"
                                    "ALTER TABLE no_such_table ADD y TEXT;\n")
    monkeypatch.setattr(store_module, "MIGRATIONS", (*store_module.MIGRATIONS, broken))
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", broken.version)
    with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
        Store(tmp_path / "state.db")
    conn = sqlite3.connect(tmp_path / "state.db")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
    assert "x" not in [c[1] for c in conn.execute("PRAGMA table_info(services)")]
    assert json.loads(conn.execute("SELECT body FROM services").fetchone()[0]) == body
