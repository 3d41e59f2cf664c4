"""The one door every request goes through: declared schemas (pydantic v2 models, one ``schema.py`` per
resource kind) checked before a handler runs, and 400 ``BadRequest`` naming the field when they fail.

Bodies are checked strictly (a string is not a number, a number is not a boolean); query strings are
text by nature, so they are converted (``?count=5``) and then range-checked. Unknown body keys pass, as
Azure's JSON binding lets them; the keys we read are typed and bounded. ``emulator/openapi.py`` builds
the published OpenAPI document from the same declarations, so the two cannot drift apart."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import UnionType
from typing import Annotated, Any, Callable, Literal, Optional, TypeVar, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)

from .error_catalog import invalid_field
from .errors import BadRequest

# --- shared field types -----------------------------------------------------------------------------

# Patterns run on pydantic's Rust engine, where ``$`` is the end of the text (as in JSON Schema, which
# publishes them): no trailing newline slips through as it does with Python's ``re.match(...$)``.
# No control characters (NUL, newline, ...) anywhere a name or short text is accepted.
_NO_CONTROL = r"[^\x00-\x1f\x7f]"


def not_only_dots(value: str) -> str:
    if value.strip(".") == "":
        raise ValueError("must not be '.' or '..' (or dots only)")
    return value


# A resource name in a URL (compute, service, model id, environment, operation id, ...): the resource's
# own rule is checked where it is created; this bounds what any route accepts.
ResourceSegment = Annotated[str, StringConstraints(min_length=1, max_length=300,
                                                   pattern=rf"^{_NO_CONTROL}+$"),
                            AfterValidator(not_only_dots)]
# Azure: a subscription id is a GUID. Ours are free-form (tests use short ids), bounded like one.
SubscriptionId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
# Azure: 1-90 characters, letters (Unicode), digits, '_', '-', '.', '(' and ')', not ending in '.'.
ResourceGroupName = Annotated[str, StringConstraints(pattern=r"^[-\w.()]{0,89}[-\w()]$")]
FilePath = Annotated[str, StringConstraints(min_length=1, max_length=4096, pattern=rf"^{_NO_CONTROL}+$")]
# An Azure region in a URL (ARM operation URLs: ``.../locations/eastus/...``): its short name.
RegionName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]{1,64}$")]

# Text fields with no documented limit get a generous bound (docs/parity.md).
MAX_DESCRIPTION = 8192
MAX_MAP_ENTRIES = 1000
def canonical(value: str, choices: tuple[str, ...]) -> str:
    """An enum value in the service's spelling: ARM enums are matched case-insensitively (azure-ai-ml sends
    ``public_network_access="disabled"`` as the user wrote it) and answered as the service spells them."""
    for choice in choices:
        if value.lower() == choice.lower():
            return choice
    raise ValueError(f"Input should be {' or '.join(repr(c) for c in choices)}")


# The largest integer SQLite stores: a number past it in a request is refused, never a 500 (OverflowError).
MAX_STORED_INT = 2**63 - 1
Description = Annotated[str, StringConstraints(max_length=MAX_DESCRIPTION)]
# kvTags / properties: MMS binds them as string maps, numbers and booleans become their text.
MapValue = Union[Annotated[str, StringConstraints(max_length=MAX_DESCRIPTION)], int, float, bool, None]
KvMap = Annotated[dict[Annotated[str, StringConstraints(max_length=512)], MapValue],
                  Field(max_length=MAX_MAP_ENTRIES)]
# ARM resource tags (workspaces, computes): at most 50, names up to 512 characters, values up to 256
# (scalars pass, as ARM's JSON binding turns them into text).
ArmTags = Annotated[dict[Annotated[str, StringConstraints(min_length=1, max_length=512)],
                         Union[Annotated[str, StringConstraints(max_length=256)], int, float, bool, None]],
                    Field(max_length=50)]


class Body(BaseModel):
    """A JSON object body: strict types on declared keys, unknown keys kept (Azure ignores them)."""

    model_config = ConfigDict(extra="allow", strict=True, allow_inf_nan=False)


class Query(BaseModel):
    """Query-string parameters: text converted to the declared type, unknown parameters ignored."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)


def named(pattern: str, error: Callable[[Any], Exception]) -> Any:
    """A name type with a resource's own rule (``pattern``, matched in full), failing with that resource's
    error (the SDK's text), whatever the value is; the pattern is published in the OpenAPI document."""
    compiled = re.compile(pattern)

    def check(value: Any) -> Any:
        if not isinstance(value, str) or not compiled.fullmatch(value):
            raise error(value)
        return value

    return Annotated[str, StringConstraints(pattern=f"^(?:{pattern})$"), BeforeValidator(check)]


def _invalid_workspace_name(value: Any) -> Exception:
    from .errors import ValidationFailed
    from .resources.workspaces.service import WORKSPACE_NAME_RULE

    return ValidationFailed(WORKSPACE_NAME_RULE)


# Azure ML: 3-33 characters, letters, digits, '-' and '_', starting with a letter or digit (the SDK's text).
WorkspaceName = named(r"[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}", _invalid_workspace_name)


# --- path segments --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Segment:
    """A URL path parameter: its Azure name (in messages and the OpenAPI document) and its type."""

    name: str
    adapter: TypeAdapter


# Every Flask path argument of every route, by its name in the route (a test checks that every route's
# arguments are listed, and that every route is @validated).
PATH_SEGMENTS: dict[str, Segment] = {
    "sub": Segment("subscriptionId", TypeAdapter(SubscriptionId)),
    "rg": Segment("resourceGroupName", TypeAdapter(ResourceGroupName)),
    "ws": Segment("workspaceName", TypeAdapter(WorkspaceName)),
    "name": Segment("name", TypeAdapter(ResourceSegment)),
    "model_id": Segment("modelId", TypeAdapter(ResourceSegment)),
    "version": Segment("version", TypeAdapter(ResourceSegment)),
    "label": Segment("label", TypeAdapter(ResourceSegment)),
    "op_id": Segment("operationId", TypeAdapter(ResourceSegment)),
    "location": Segment("location", TypeAdapter(RegionName)),
    "relpath": Segment("path", TypeAdapter(FilePath)),
    "dataset_id": Segment("id", TypeAdapter(ResourceSegment)),
}


# --- the entry point ------------------------------------------------------------------------------

@dataclass(frozen=True)
class RouteSpec:
    """What a route accepts: a JSON body model (or a JSON-patch list), query model, multipart upload."""

    body: Optional[type[BaseModel]] = None
    patch: Optional["JsonPatch"] = None
    query: Optional[type[Query]] = None
    multipart: Optional[type[BaseModel]] = None  # the model of the upload's "metadata" field
    body_optional: bool = False
    path: dict[str, Any] = field(default_factory=dict)  # stricter types for some path arguments


def path_segment(key: str, spec: Optional[RouteSpec] = None) -> Segment:
    """The declared type of path argument ``key`` (a route may narrow it, e.g. an environment's name)."""
    if spec is not None and key in spec.path:
        # A route may also type an argument no other route has (a KeyError here was a 500).
        return Segment(PATH_SEGMENTS[key].name if key in PATH_SEGMENTS else key, TypeAdapter(spec.path[key]))
    return PATH_SEGMENTS[key]


# The member tags pydantic puts in an error's location inside a union ("tags.a.constrained-str"): not
# field names, so left out of the target a client is shown.
_UNION_MEMBER = re.compile(r"^(constrained-)?(str|int|float|bool|none)$|^[a-z-]+\[.*\]$")


def _where(loc: tuple) -> str:
    return ".".join(str(part) for part in loc if not (isinstance(part, str) and _UNION_MEMBER.match(part)))


def _failure(exc: ValidationError, prefix: str, what: str) -> BadRequest:
    """400 naming every failing field, Azure-style: message + one detail per field (``target``)."""
    details: dict[str, dict[str, str]] = {}
    for error in exc.errors(include_url=False):
        target = ".".join(p for p in (prefix, _where(error["loc"])) if p) or "(body)"
        if target in details:  # a union's members each fail: the first says enough
            continue
        message = error["msg"]
        if error["type"] != "missing" and "input" in error:
            shown = repr(error["input"])
            message += f" (got {shown[:80] + '...' if len(shown) > 80 else shown})"
        details[target] = invalid_field(target, message)
    listed = list(details.values())
    more = f" (and {len(listed) - 1} more)" if len(listed) > 1 else ""
    return BadRequest(f"Invalid {what}: {listed[0]['message']}{more}", details=listed)


_Model = TypeVar("_Model", bound=BaseModel)


def check_model(model: type[_Model], value: Any, what: str = "request body", prefix: str = "") -> _Model:
    """``value`` validated against ``model``, or a 400 that names the field."""
    if not isinstance(value, dict):
        raise BadRequest(f"The {what} must be a JSON object.")
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise _failure(exc, prefix, what) from None


def check_value(adapter: TypeAdapter, value: Any, target: str, what: str = "request body") -> Any:
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        raise _failure(exc, target, what) from None


def check_path(arguments: dict[str, Any], spec: Optional[RouteSpec] = None) -> None:
    for key, value in arguments.items():
        segment = path_segment(key, spec)
        check_value(segment.adapter, value, segment.name, "path parameter")


def check_query(model: type[Query], args: Any) -> Query:
    try:
        return model.model_validate({key: args.get(key) for key in args.keys()})
    except ValidationError as exc:
        raise _failure(exc, "", "query parameter") from None




# --- JSON patch -------------------------------------------------------------------------------------

MAX_PATCH_OPERATIONS = 200


PatchPath = Annotated[str, StringConstraints(min_length=1, max_length=1024, pattern=r"^/[^\x00-\x1f\x7f]*$")]


class SetOperation(Body):
    """``add`` / ``replace``: RFC 6902 requires the ``value`` member (``null`` is a value)."""

    op: Literal["add", "replace"]
    path: PatchPath
    value: Any


class RemoveOperation(Body):
    op: Literal["remove"]
    path: PatchPath


PatchOperation = Annotated[Union[SetOperation, RemoveOperation], Field(discriminator="op")]


def _strip(annotation: Any) -> Any:
    """``X`` from ``Optional[X]`` / ``Annotated[X, ...]``, to walk into it."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, UnionType):
            kept = [a for a in get_args(annotation) if a is not type(None)]
            if len(kept) != 1:
                return annotation
            annotation = kept[0]
        else:
            return annotation


_SCALARS = (str, int, float, bool, type(None))


def _scalar(annotation: Any) -> bool:
    """Whether every value ``annotation`` admits is a JSON scalar (no patch path leads inside one)."""
    base = _strip(annotation)
    if get_origin(base) in (Union, UnionType):
        return all(_scalar(member) for member in get_args(base))
    return base in _SCALARS or get_origin(base) is Literal


class JsonPatch:
    """A JSON-patch document (RFC 6902) whose values have ``model``'s types and ranges at their paths:
    ``/numReplicas`` is checked as the create payload's numReplicas, ``/properties/<key>`` as a value of
    its properties map. Paths the model does not declare are left to the service (which refuses them)."""

    def __init__(self, model: type[Body]) -> None:
        self.model = model
        self.adapter: TypeAdapter[list[PatchOperation]] = TypeAdapter(
            Annotated[list[PatchOperation], Field(max_length=MAX_PATCH_OPERATIONS)])

    def json_schema(self) -> dict[str, Any]:
        return self.adapter.json_schema()

    def value_adapter(self, pointer: str) -> Optional[TypeAdapter]:
        """The type of the value at ``pointer`` (None: not declared, left to the service); 400 when the
        path leads inside a value the model declares as a scalar (``/numReplicas/x``, ``/kvTags/k/x``)."""
        annotation: Any = self.model
        for part in pointer.strip("/").split("/"):
            base = _strip(annotation)
            if _scalar(base):
                raise BadRequest(f"Invalid JSON patch: the path {pointer!r} leads inside a value that is not an "
                                 f"object (at {part!r}).")
            if isinstance(base, type) and issubclass(base, Body):
                declared = base.model_fields.get(part)
                if declared is None:
                    return None
                annotation = (Annotated[(declared.annotation, *declared.metadata)] if declared.metadata
                              else declared.annotation)
            elif get_origin(base) is dict:  # a map's entry (/properties/<key>)
                annotation = get_args(base)[1]
            else:
                return None
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return TypeAdapter(annotation)
        return TypeAdapter(annotation, config=ConfigDict(strict=True, allow_inf_nan=False))

    def __call__(self, document: Any) -> None:
        if not isinstance(document, list):
            raise BadRequest("Send a JSON Patch document: a list of {op, path, value} objects.")
        try:
            operations = self.adapter.validate_python(document)
        except ValidationError as exc:
            raise _failure(exc, "", "JSON patch") from None
        for index, operation in enumerate(operations):
            adapter = self.value_adapter(operation.path)  # a path into a scalar is refused, whatever the op
            if adapter is not None and isinstance(operation, SetOperation):
                try:
                    adapter.validate_python(operation.value)
                except ValidationError as exc:
                    raise _failure(exc, f"[{index}].value ({operation.path})", "JSON patch") from None
