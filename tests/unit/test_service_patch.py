"""The SDK's JSON-patch update of a service: a path that leads through a value which is not an object (a
number, a string, a list) is a 400 at the door or in apply_patch, never a 500, and never stores an object
where the create payload declares a scalar."""
from __future__ import annotations

import copy

import pytest

from emulator.errors import BadRequest
from emulator.resources.services.schema import PATCH
from emulator.resources.services.service import apply_patch

BODY = {"name": "svc", "numReplicas": 1, "kvTags": {"a": "x"}, "description": "d",
        "environmentImageRequest": {"assets": [{"id": "a"}], "driverProgram": "score.py"},
        "fakeAzure": {"replicas": []}}


def _update(operations: list[dict]) -> dict:
    """What the update route does with a patch: the door's check, then apply_patch on the record."""
    PATCH(operations)
    body = copy.deepcopy(BODY)
    apply_patch(body, operations)
    return body


@pytest.mark.parametrize("op", ["add", "replace", "remove"])
@pytest.mark.parametrize("path", ["/numReplicas/x", "/description/x", "/kvTags/a/b", "/kvTags/new/b",
                                  "/environmentImageRequest/assets/0", "/environmentImageRequest/assets/0/id",
                                  "/environmentImageRequest/driverProgram/x"])
def test_a_patch_path_through_a_value_that_is_not_an_object_is_400(op: str, path: str) -> None:
    operation = {"op": op, "path": path, "value": {"deep": 1} if op != "remove" else None}
    with pytest.raises(BadRequest) as refused:
        _update([operation])
    assert refused.value.status_code == 400 and path in str(refused.value)


def test_patch_paths_into_objects_still_apply() -> None:
    body = _update([{"op": "add", "path": "/kvTags/new", "value": "v"},
                    {"op": "replace", "path": "/autoScaler/minReplicas", "value": 2},
                    {"op": "replace", "path": "/environmentImageRequest/driverProgram", "value": "main.py"}])
    assert body["kvTags"] == {"a": "x", "new": "v"} and body["autoScaler"]["minReplicas"] == 2
    assert body["environmentImageRequest"]["driverProgram"] == "main.py"
