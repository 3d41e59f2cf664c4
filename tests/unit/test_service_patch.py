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


# --- the patched record is checked as a create payload (the same declared schema) -------------------

@pytest.mark.parametrize("operation, field", [
    ({"op": "remove", "path": "/environmentImageRequest/driverProgram"}, "driverProgram"),
    ({"op": "remove", "path": "/environmentImageRequest/assets"}, "assets"),
    ({"op": "replace", "path": "/environmentImageRequest/assets", "value": []}, "assets"),
    ({"op": "remove", "path": "/environmentImageRequest"}, "environmentImageRequest"),
    ({"op": "replace", "path": "/environmentImageRequest", "value": {"assets": [{"id": "a"}]}}, "driverProgram"),
    ({"op": "replace", "path": "/autoScaler", "value": {"minReplicas": 20}}, "minReplicas"),  # default max: 10
])
def test_a_patch_leaving_a_record_create_would_refuse_is_400_and_changes_nothing(operation: dict,
                                                                                 field: str) -> None:
    body = copy.deepcopy(BODY)
    with pytest.raises(BadRequest) as refused:  # at the door (a declared value) or on the patched record
        _update_body(body, [operation])
    assert refused.value.status_code == 400 and field in str(refused.value)
    assert body == BODY  # nothing of a refused patch is kept


def test_a_min_above_the_stored_max_is_400() -> None:
    body = {**copy.deepcopy(BODY), "autoScaler": {"autoscaleEnabled": True, "minReplicas": 1, "maxReplicas": 3}}
    with pytest.raises(BadRequest) as refused:
        _update_body(body, [{"op": "replace", "path": "/autoScaler/minReplicas", "value": 4}])
    assert "minReplicas cannot be greater than maxReplicas" in str(refused.value)
    assert body["autoScaler"]["minReplicas"] == 1


@pytest.mark.parametrize("op", ["add", "replace"])
def test_an_add_or_replace_without_a_value_is_400_at_the_door(op: str) -> None:
    with pytest.raises(BadRequest) as refused:
        PATCH([{"op": op, "path": "/numReplicas"}])
    assert refused.value.status_code == 400 and "value" in str(refused.value)


def test_an_explicit_null_value_is_a_value() -> None:
    PATCH([{"op": "replace", "path": "/description", "value": None}])


def test_the_sdk_update_payload_still_applies() -> None:
    """What AksWebservice.update sends (azureml-core 1.61: replace per field, add per property)."""
    body = {**copy.deepcopy(BODY), "autoScaler": {"autoscaleEnabled": True, "minReplicas": 1, "maxReplicas": 10}}
    new_request = {"driverProgram": "main.py", "assets": [{"id": "b"}], "modelIds": ["m:1"],
                   "environment": {"name": "env", "python": {"userManagedDependencies": True}}}
    operations = [{"op": "replace", "path": "/environmentImageRequest", "value": new_request},
                  {"op": "replace", "path": "/autoScaler/autoscaleEnabled", "value": True},
                  {"op": "replace", "path": "/autoScaler/minReplicas", "value": 2},
                  {"op": "replace", "path": "/autoScaler/maxReplicas", "value": 4},
                  {"op": "replace", "path": "/containerResourceRequirements/cpu", "value": 0.5},
                  {"op": "replace", "path": "/numReplicas", "value": 3},
                  {"op": "replace", "path": "/namespace", "value": "team-a"},
                  {"op": "replace", "path": "/kvTags", "value": {"k": "v"}},
                  {"op": "add", "path": "/properties/hosttype", "value": "python"},
                  {"op": "replace", "path": "/description", "value": "new"}]
    assert _update_body(body, operations) is True
    assert body["environmentImageRequest"] == new_request and body["numReplicas"] == 3
    assert body["autoScaler"]["minReplicas"] == 2 and body["autoScaler"]["maxReplicas"] == 4


def _update_body(body: dict, operations: list[dict]) -> bool:
    PATCH(operations)
    return apply_patch(body, operations)
