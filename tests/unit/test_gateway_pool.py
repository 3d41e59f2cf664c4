"""GatewayPool's lock and the store's write lock must never be held waiting for each other."""
from __future__ import annotations

import threading
from pathlib import Path

from emulator.deploy.gateways import ClusterGateway, GatewayPool
from emulator.store import Store


def test_a_new_gateway_does_not_hold_the_pool_while_waiting_for_the_store(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    pool = GatewayPool(store)
    created: list[ClusterGateway] = []
    looked_up = threading.Event()
    try:
        # A write transaction that needs the pool (as take_down republishing a service does)...
        with store.transaction():
            creator = threading.Thread(target=lambda: created.append(pool.for_service("ws", {"computeName": "c"})),
                                       daemon=True)
            creator.start()  # ...while a first deployment on cluster c starts its gateway
            looker = threading.Thread(target=lambda: (pool.existing_for("ws", "svc"), looked_up.set()), daemon=True)
            looker.start()
            # Before the fix the creator held the pool's lock until the store's write lock was free
            # (30 s busy timeout), so the lookup inside this transaction could not finish.
            assert looked_up.wait(10), "the pool's lock was held while waiting for the store"
        creator.join(10)
        assert created and pool.existing_for("ws", "svc") is None
        row = store.read().execute("SELECT port FROM gateways WHERE workspace_id = 'ws' AND cluster = 'c'").fetchone()
        assert row is not None and row["port"] == created[0].gateway.port
    finally:
        pool.stop_all()


def test_reopen_listens_on_the_remembered_port_with_the_restored_routes_held(tmp_path: Path) -> None:
    """A restarted daemon's front end: on the port the gateways table remembers, each restored service routed
    (no replica yet: a request waits its max queue wait, then azureml-fe's 503), never a 404."""
    import socket

    import requests

    with socket.socket() as probe:  # a free port, as an earlier daemon's gateway had
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = Store(tmp_path / "state.db")
    with store.transaction() as conn:
        conn.execute("INSERT INTO gateways (workspace_id, cluster, port) VALUES ('ws', 'c', ?)", (port,))
    bodies = [{"name": name, "computeName": "c", "maxQueueWaitMs": 50} for name in ("one", "two")]
    pool = GatewayPool(store)
    try:
        pool.reopen("ws", [(body, {}, []) for body in bodies])
        gateway = pool.for_service("ws", bodies[0])
        assert gateway.gateway.port == port
        for name in ("one", "two"):
            answer = requests.post(f"http://127.0.0.1:{port}/api/v1/service/{name}/score", data="{}", timeout=10)
            assert (answer.status_code, answer.text) == (503, f"No ready replicas for service {name}")
    finally:
        pool.stop_all()
