"""The SQLite store: transactions are all-or-nothing, reset empties every table, state lives in the file."""
from __future__ import annotations

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
    assert _tables(store.read()) == ["asset_files", "assets", "computes", "environments", "gateways", "model_files",
                                     "models", "operations", "services", "workspaces"]


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
    assert {t: _count(store, t) for t in tables} == {t: 0 for t in tables}
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
