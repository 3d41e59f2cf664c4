"""The tags/properties list filter that models and webservices share."""
from __future__ import annotations

from typing import Any


def kv_match(values: dict[str, Any], expression: str | None) -> bool:
    """Whether ``values`` (kvTags or properties) satisfy the SDK's filter: Model.list / Webservice.list join
    ['k', ['k2', 'v2']] into "k,k2=v2", and every term must hold ("k" alone: the key is present). Empty
    terms ("k," from a list with an empty string) constrain nothing, as an empty expression does."""
    for term in (expression or "").split(","):
        if not term:
            continue
        key, sep, value = term.partition("=")
        if key not in values or (sep and values[key] != value):
            return False
    return True
