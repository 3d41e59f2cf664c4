"""Query strings the SDK builds for list filters (models and services alike)."""
from __future__ import annotations

from typing import Any


def filter_query(terms: Any) -> str | None:
    """The SDK's tags/properties query: ['k', ['k2', 'v2']] -> "k,k2=v2"."""
    if not terms:
        return None
    query = ""
    for term in terms:
        if type(term) is list:
            query = query + term[0] + "=" + term[1] + ","
        else:
            query = query + term + ","
    return query[:-1]
