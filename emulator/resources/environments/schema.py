"""Request schemas of registered environments: the definition (the SDK's serialized Environment) and labels."""
from __future__ import annotations

from typing import Annotated, Optional, Union

from pydantic import AfterValidator, Field, StringConstraints

from ...validation import Body, not_only_dots

# No documented rule for v1 environment names: 1-255 characters, no control characters, no '/' or
# '\' (the name is a URL segment and a tag of built images), not '.' or '..' (docs/parity.md).
MAX_NAME_LENGTH = 255
EnvironmentName = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME_LENGTH,
                                                   pattern=r"^[^\x00-\x1f\x7f/\\]+$"),
                            AfterValidator(not_only_dots)]
Label = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f\x7f]+$")]


Text = Annotated[str, StringConstraints(max_length=4096)]
# A conda file's dependencies: "numpy=1.26" or {"pip": ["requests", ...]}.
CondaEntry = Union[Annotated[str, StringConstraints(max_length=4096)], dict[str, list[Text]]]


class CondaDependencies(Body):
    name: Optional[Text] = None
    dependencies: Optional[Annotated[list[CondaEntry], Field(max_length=10_000)]] = None
    channels: Optional[Annotated[list[Text], Field(max_length=1000)]] = None


class PythonSection(Body):
    userManagedDependencies: Optional[bool] = None
    interpreterPath: Optional[Text] = None
    condaDependencies: Optional[CondaDependencies] = None


class DockerSection(Body):
    enabled: Optional[bool] = None
    baseImage: Optional[Text] = None
    baseDockerfile: Optional[Annotated[str, StringConstraints(max_length=1024 * 1024)]] = None


class EnvironmentDefinition(Body):
    """The SDK's serialized Environment (``Environment._serialize_to_dict()``), as registered with
    ``PUT .../environments/{name}`` or sent inside a deployment: stored as sent; what the emulator
    builds from (Python and its packages, environment variables, the Docker section) is typed."""

    name: Optional[EnvironmentName] = None
    version: Optional[Union[Annotated[str, StringConstraints(max_length=64)], int]] = None
    environmentVariables: Optional[Annotated[dict[Annotated[str, StringConstraints(max_length=1024)],
                                                  Union[Text, int, float, bool, None]],
                                             Field(max_length=1000)]] = None
    python: Optional[PythonSection] = None
    docker: Optional[DockerSection] = None


class LabelsPut(Body):
    """``PUT .../environments/{name}/versions/{version}/metadata``."""

    Labels: Annotated[list[Label], Field(max_length=100)]
