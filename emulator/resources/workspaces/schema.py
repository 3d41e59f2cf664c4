"""Request schemas of the workspace routes (checked by emulator/validation.py before a handler runs)."""
from __future__ import annotations

from typing import Annotated, Optional

from pydantic import StringConstraints

from ...validation import ArmTags, Body

# Azure region names ("eastus", "westeurope"); empty means the default. Generous: letters, digits,
# spaces, '-', '_', '(' and ')', at most 64 characters (docs/parity.md).
Location = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9 ()_-]{0,64}$")]
Sku = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class WorkspacePut(Body):
    """``PUT .../workspaces/{workspaceName}`` (the facade's create body; all keys optional)."""

    location: Optional[Location] = None
    sku: Optional[Sku] = None
    tags: Optional[ArmTags] = None
