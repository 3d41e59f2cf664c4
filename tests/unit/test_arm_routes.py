"""Every route of the SDK v2 front end goes through the door (``@validated``) with declared path types, as
the control plane's routes do (tests/integration/test_request_validation.py)."""
from __future__ import annotations

from types import SimpleNamespace

from emulator.arm.app import create_arm_app
from emulator.openapi import route_spec
from emulator.validation import PATH_SEGMENTS


def test_every_arm_route_is_validated_and_names_known_path_segments() -> None:
    app = create_arm_app(SimpleNamespace(token="t"))  # type: ignore[arg-type]  # routes only, no cloud
    rules = [r for r in app.url_map.iter_rules() if r.endpoint != "static"]
    assert len(rules) > 15
    for rule in rules:
        spec = route_spec(app, rule.endpoint)
        assert spec is not None, f"{rule.rule} is not @validated"
        for argument in rule.arguments:
            assert argument in PATH_SEGMENTS or argument in spec.path, f"{rule.rule}: {argument} has no type"
    writes = [r for r in rules if r.methods and ({"PUT", "POST"} & set(r.methods))]
    specs = [route_spec(app, r.endpoint) for r in writes]
    assert writes and all(spec is not None and spec.body is not None for spec in specs)
