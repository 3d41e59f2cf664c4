"""AksEndpoint's JSON patch as the service sorts it: the endpoint's own fields are the exact paths the SDK's
AksEndpoint.update sends; anything else is refused before the record is touched."""
from __future__ import annotations

import pytest

from emulator.errors import BadRequest
from emulator.resources.services.endpoints import VersionPatch, apply_own


@pytest.mark.parametrize("path", ["/authEnabledX", "/kvTags/team", "/descriptionOfSomethingElse"])
def test_a_path_that_only_starts_like_an_endpoint_field_is_refused(path: str) -> None:
    with pytest.raises(BadRequest, match="Unsupported patch operation"):
        VersionPatch("ep", [{"op": "replace", "path": path, "value": "x"}])


def test_the_sdks_own_field_paths_apply() -> None:
    patch = VersionPatch("ep", [{"op": "replace", "path": "/kvTags", "value": {"team": "a"}},
                                {"op": "replace", "path": "/authEnabled", "value": True},
                                {"op": "add", "path": "/properties/owner", "value": "me"}])
    body: dict = {"kvTags": {}, "authEnabled": False, "aadAuthEnabled": False}
    apply_own(body, patch.own)
    assert body == {"kvTags": {"team": "a"}, "authEnabled": True, "aadAuthEnabled": False,
                    "properties": {"owner": "me"}}
