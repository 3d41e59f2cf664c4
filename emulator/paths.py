"""Paths a request names (uploaded file paths, asset ids, a service's driver program and source directory):
the one place that turns them into file-system paths, and only inside the folder they belong to.

A request value is refused (400 ``BadRequest``, Azure's envelope) when it is not text, is empty, holds
NUL or another control character or a backslash, is absolute (``/x``, ``C:x``), or climbs out with
``..``; :func:`resolve_inside` also follows symlinks and refuses a path that ends up outside its base."""
from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

from .errors import BadRequest

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE = re.compile(r"^[A-Za-z]:")


class UnsafePath(BadRequest):
    """A request-supplied path that is malformed or would leave its folder."""

    code = "InvalidPath"


def relative_path(value: Any, what: str, code: str | None = None, *, canonical: bool = False) -> str:
    """``value`` as a normalized relative posix path that stays inside whatever folder it is joined to.

    ``canonical``: refuse ``.`` segments and empty segments too instead of normalizing them away (stored
    upload paths are kept in one spelling)."""
    if not isinstance(value, str) or not value or _CONTROL.search(value) or "\\" in value:
        raise UnsafePath(f"Invalid {what} {value!r}.", code=code)
    if value.startswith("/") or _DRIVE.match(value):
        raise UnsafePath(f"The {what} {value!r} must be a relative path.", code=code)
    parts = value.split("/")
    if canonical and (any(part in ("..", ".") for part in parts) or "" in parts):
        raise UnsafePath(f"The {what} {value!r} must not contain '..', '.' or empty segments.", code=code)
    normalized = posixpath.normpath(value)
    if normalized == ".." or normalized.startswith("../"):
        raise UnsafePath(f"The {what} {value!r} must not climb out of its folder with '..'.", code=code)
    if normalized == ".":
        raise UnsafePath(f"The {what} {value!r} names no file.", code=code)
    return normalized


def segment(value: Any, what: str, code: str | None = None) -> str:
    """``value`` as a single file name (an id, a folder name): a relative path of one segment."""
    normalized = relative_path(value, what, code)
    if "/" in normalized or normalized != value:
        raise UnsafePath(f"The {what} {value!r} must be a single name, without '/'.", code=code)
    return normalized


def resolve_inside(base: Path, value: Any, what: str, code: str | None = None, *, single: bool = False) -> Path:
    """The absolute path ``value`` names under ``base`` (symlinks followed); refused unless it stays inside.

    ``single``: ``value`` must be one name (:func:`segment`)."""
    relative = segment(value, what, code) if single else relative_path(value, what, code)
    root = Path(base).resolve()
    target = (root / relative).resolve()
    if target != root and root not in target.parents:
        raise UnsafePath(f"The {what} {value!r} resolves outside its folder.", code=code)
    return target
