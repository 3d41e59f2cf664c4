"""Request schemas of registered environments: the definition (the SDK's serialized Environment) and labels."""
from __future__ import annotations

from typing import Annotated, Optional

from pydantic import AfterValidator, Field, StringConstraints

from ...validation import Body, _not_only_dots

# No documented rule for v1 environment names: 1-255 characters, no control characters, no '/' or
# '\' (the name is a URL segment and a tag of built images), not '.' or '..' (docs/parity.md).
MAX_NAME_LENGTH = 255
EnvironmentName = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME_LENGTH,
                                                   pattern=r"^[^\x00-\x1f\x7f/\\]+$"),
                            AfterValidator(_not_only_dots)]
Label = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f\x7f]+$")]


class EnvironmentDefinition(Body):
    """``PUT .../environments/{name}``: stored as sent; the keys the emulator reads are typed."""

    name: Optional[EnvironmentName] = None


class LabelsPut(Body):
    """``PUT .../environments/{name}/versions/{version}/metadata``."""

    Labels: Annotated[list[Label], Field(max_length=100)]
