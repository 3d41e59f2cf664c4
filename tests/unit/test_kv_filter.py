"""The tags/properties filter shared by Model.list and Webservice.list (emulator/resources/filters.py)."""
from __future__ import annotations

import pytest

from emulator.resources.filters import kv_match

TAGS = {"stage": "prod", "team": "ml", "empty": ""}


@pytest.mark.parametrize("expression, expected", [
    (None, True), ("", True),
    ("team", True), ("owner", False),
    ("stage=prod", True), ("stage=dev", False), ("stage=", False), ("empty=", True),
    ("stage=prod,team", True), ("stage=prod,owner", False),
    # The SDK sends "k," for tags=["k", ""]: the empty term constrains nothing (models and services alike).
    ("team,", True), (",team", True), ("owner,", False), (",", True),
])
def test_every_term_must_hold_and_empty_terms_are_ignored(expression, expected) -> None:
    assert kv_match(TAGS, expression) is expected


def test_models_and_services_use_the_same_filter() -> None:
    from emulator.resources.models import service as models
    from emulator.resources.services import service as services

    assert models.kv_match is kv_match and services.kv_match is kv_match
