"""Request schema of source asset uploads: the multipart body's ``metadata`` field."""
from __future__ import annotations

from typing import Optional

from ...validation import Body, FilePath


class AssetUpload(Body):
    """The ``metadata`` JSON field of ``POST .../assets`` (what the facade sends: the source directory's
    name and the entry script). The files' own paths are the file parts' names; these two are recorded
    by nothing, and typed so that no request carries what a path may not."""

    sourceDirectory: Optional[FilePath] = None
    entryScript: Optional[FilePath] = None
