"""An in-process deployment engine on the stub runtime (tests/stub_runtime.py): a store, a blob store,
operations with the services' finishers, real gateways, and helpers to record and deploy services the
way the services API does. Engine-level tests run in milliseconds, without azmlinfsrv."""
from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

from stub_runtime import StubRuntime

from emulator import catalog
from emulator.blobs import BlobStore
from emulator.deploy import lifecycle
from emulator.deploy.engine import DeploymentEngine
from emulator.deploy.gateways import GatewayPool
from emulator.deploy.gpus import HostGpus
from emulator.operations import Operations
from emulator.progress import ProgressPolicy
from emulator.resources.assets import service as assets
from emulator.resources.computes import service as computes
from emulator.resources.services import service as services
from emulator.resources.services.operations import FINISHERS
from emulator.store import Store
from emulator.uploads import Upload

WS = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws"
CLUSTER = "aks-stub"
POLICY = ProgressPolicy.parse("immediate")


class Harness:
    def __init__(self, home: Path, runtime: StubRuntime | None = None, supervise: bool = False,
                 store: Store | None = None) -> None:
        self.home = home
        self.runtime = runtime or StubRuntime()
        self.store = store or Store(home / "state.db")
        self.blobs = BlobStore(home / "blobs")
        self.operations = Operations(self.store, lambda: POLICY, FINISHERS)
        self.engine = DeploymentEngine(
            store=self.store, blobs=self.blobs, operations=self.operations, runtime=self.runtime,
            gateways=GatewayPool(self.store), gpus=HostGpus(0), work_dir=home, supervise=supervise)
        self.engine.start()

    def add_cluster(self, nodes: int = 3) -> None:
        vm = catalog.lookup("Standard_D3_v2")
        body = {"properties": {"provisioningState": "Succeeded"},
                "fakeAzure": {"nodes": computes.node_pool(vm, nodes, CLUSTER)}}
        with self.store.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO computes (workspace_id, name, state, body, created_at) "
                         "VALUES (?, ?, 'Succeeded', ?, ?)", (WS, CLUSTER, json.dumps(body), time.time()))

    def create(self, name: str, replicas: int = 1, autoscale: bool = False) -> str:
        """Record an AKS service as the API does and hand it to the engine; the operation's id."""
        self.add_cluster()
        asset = assets.create(self.store, self.blobs, WS, [Upload("score.py", io.BytesIO(b"def init(): pass\n"))])
        payload: dict[str, Any] = {
            "name": name, "computeType": "AKS", "computeName": CLUSTER, "numReplicas": replicas,
            "environmentImageRequest": {"driverProgram": "score.py", "assets": [{"id": asset["id"]}],
                                        "environment": {"name": "stub-env"}}}
        if autoscale:
            payload["autoScaler"] = {"autoscaleEnabled": True, "minReplicas": replicas, "maxReplicas": 5}
        with self.store.transaction() as conn:
            body = services.build_body(conn, {"id": WS, "name": "ws", "location": "eastus"}, payload, [])
            body["fakeAzure"]["replicas"] = services.plan_replicas(conn, WS, body, services.desired_replicas(body))
            lifecycle.deploy_begun(conn, WS, body, services.new_secrets(payload))
            op_id = self.operations.start(conn, WS, "service.create", name, {"pending": True})
        self.engine.deploy(WS, name, op_id)
        return op_id

    def update(self, name: str) -> str:
        """Redeploy the service as an update that changes what runs does: new replicas planned beside the
        old ones' record, Transitioning under a new operation; the operation's id."""
        with self.store.transaction() as conn:
            body = services.get(conn, WS, name)
            body["fakeAzure"]["replicas"] = services.plan_replicas(conn, WS, body, services.desired_replicas(body))
            lifecycle.update_begun(conn, WS, body)
            op_id = self.operations.start(conn, WS, "service.update", name, {"pending": True})
        self.engine.deploy(WS, name, op_id)
        return op_id

    def delete(self, name: str) -> str:
        with self.store.transaction() as conn:
            op_id = self.operations.start(conn, WS, "service.delete", name, {"pending": True})
        self.engine.delete(WS, name, op_id)
        return op_id

    def wait(self, op_id: str, seconds: float = 10.0) -> dict[str, Any]:
        """The operation once it ended (or as it stands after ``seconds``)."""
        return self.operations.poll(WS, op_id, wait_seconds=seconds)

    def body(self, name: str) -> dict[str, Any]:
        return services.get(self.store.read(), WS, name)

    def service_dir(self, name: str) -> Path:
        return self.engine.folders.service_dir(WS, name)

    def close(self) -> None:
        self.engine.shutdown()
