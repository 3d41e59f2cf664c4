"""Request schema of source asset uploads: the multipart body's ``metadata`` field (unused, any object)."""
from __future__ import annotations

from ...validation import Body


class AssetUpload(Body):
    """The ``metadata`` JSON field of ``POST .../assets``: nothing is read from it."""
