"""Request schemas of datastores: a blob upload's ``metadata`` field and the blob list query."""
from __future__ import annotations

from typing import Annotated, Optional

from pydantic import StringConstraints

from ...validation import Body, Query


class BlobUpload(Body):
    """The ``metadata`` JSON field of ``POST .../datastores/<name>/blobs``: each file part's filename is
    the blob's path in the container (the facade has applied ``target_path`` and ``relative_root``)."""

    overwrite: bool = False


class BlobListQuery(Query):
    prefix: Optional[Annotated[str, StringConstraints(max_length=4096, pattern=r"^[^\x00-\x1f\x7f]*$")]] = None
