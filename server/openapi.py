"""Finish the OpenAPI document with what Litestar cannot see in a handler's signature.

Each fact is derived from the code that enforces it, so the document cannot drift:

- an operation needs a bearer token unless its handler is public, which is exactly what the
  ``authenticate`` guard checks; public operations get an empty ``security``;
- every error is an RFC 9457 problem+json body from ``server.errors.problem_response``,
  so each operation lists the statuses it can refuse with, all with one ``Problem`` schema;
- request bodies refuse unknown fields (``server.wire.Input``), so their schemas are closed;
  a body whose members depend on each other (a payment's method-specific members) declares
  its shapes (``Variant``) and its schema is their ``oneOf``;
- a header is a string or absent, never ``null``;
- an optional query parameter is left out rather than sent as ``null``; ``limit`` and
  ``cursor`` follow ``server.pagination``: a bounded page size, an opaque cursor.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import (
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    PathItem,
    Reference,
    Schema,
)
from litestar.plugins import OpenAPISchemaPlugin
from litestar.routes import HTTPRoute
from litestar.typing import FieldDefinition

from server.errors import (
    PROBLEM_MEDIA_TYPE,
    Conflict,
    Forbidden,
    FynloError,
    NotAuthenticated,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    Unavailable,
    ValidationFailed,
)
from server.sync.errors import ResyncRequired, UpgradeRequired

_STRING = Schema(type=OpenAPIType.STRING)

# Mirrors ``server.errors.problem_body``; the Schemathesis run checks real bodies against it.
PROBLEM_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    description="An RFC 9457 problem: `code` is stable for programs, `detail` is for people.",
    required=["type", "title", "status", "detail", "code", "instance", "request_id"],
    properties={
        "type": Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.URI),
        "title": _STRING,
        "status": Schema(type=OpenAPIType.INTEGER, minimum=400, maximum=599),
        "detail": _STRING,
        "code": _STRING,
        "instance": Schema(type=OpenAPIType.STRING, description="The path that was requested"),
        "request_id": Schema(type=OpenAPIType.STRING, description="Quote it when reporting"),
        "field": Schema(type=OpenAPIType.STRING, description="The request member at fault"),
        "errors": Schema(
            type=OpenAPIType.ARRAY,
            items=Schema(
                type=OpenAPIType.OBJECT,
                required=["field", "message"],
                properties={"field": _STRING, "message": _STRING},
            ),
        ),
    },
)

_DOCUMENTED_ERRORS: tuple[type[FynloError], ...] = (
    ValidationFailed,
    NotAuthenticated,
    Forbidden,
    NotFound,
    Conflict,
    PayloadTooLarge,
    RateLimited,
    Unavailable,
    ResyncRequired,
    UpgradeRequired,
)
_ERRORS = {error.status: error for error in _DOCUMENTED_ERRORS}
_WRITES = frozenset({"post", "put", "patch"})


@dataclass(frozen=True)
class Variant:
    """One shape of a request body whose members depend on each other.

    A Struct lists its shapes as ``openapi_variants: ClassVar[tuple[Variant, ...]]`` and its
    schema becomes their ``oneOf``. Each shape is the Struct's own members, with the ``const``
    ones fixed to one value (a tag such as ``method``), the ``required`` ones present and not
    null, and the ``absent`` ones left out. The code that enforces the dependency stays where
    it is; the Schemathesis run checks both ways that the two agree.
    """

    title: str
    description: str | None = None
    const: Mapping[str, str] = dataclass_field(default_factory=dict)
    required: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()


class ClosedStructSchemas(OpenAPISchemaPlugin):
    """Litestar's schema for a Struct that forbids unknown fields, closed and with exact bounds.

    Litestar 2 drops a bound of 0 on an optional field (``int | UnsetType``) and writes integer
    bounds as floats; the bounds are set again here from msgspec's own view of the field. A
    Struct with ``openapi_variants`` gets the ``oneOf`` of its shapes (see ``Variant``).
    """

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        return (
            not field_definition.is_union
            and field_definition.is_subclass_of(msgspec.Struct)
            and field_definition.type_.__struct_config__.forbid_unknown_fields
        )

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Schema:
        builtin = next(
            plugin
            for plugin in schema_creator.plugins
            if plugin is not self and schema_creator.plugin_supports_field(plugin, field_definition)
        )
        schema: Schema = builtin.to_openapi_schema(field_definition, schema_creator)
        schema.additional_properties = False
        struct: Any = msgspec.inspect.type_info(field_definition.type_)
        for field in struct.fields:
            prop = (schema.properties or {}).get(field.encode_name)
            if isinstance(prop, Schema):
                _set_bounds(prop, field.type)
        variants = getattr(field_definition.type_, "openapi_variants", None)
        if isinstance(variants, tuple) and variants:
            _split_into_variants(schema, variants)
            if schema.description is None and field_definition.type_.__doc__:
                schema.description = inspect.cleandoc(field_definition.type_.__doc__)
        return schema


def _split_into_variants(schema: Schema, variants: tuple[Variant, ...]) -> None:
    """Make ``schema`` (registered as the Struct's component, so changed in place) the
    ``oneOf`` of its shapes, each closed like the Struct itself."""
    properties = schema.properties or {}
    required = set(schema.required or ())
    unknown = {
        name
        for variant in variants
        for name in (*variant.const, *variant.required, *variant.absent)
        if name not in properties
    }
    if unknown:
        raise ValueError(f"{schema.title}: variants name no such member: {sorted(unknown)}")
    shapes: list[Schema | Reference] = []
    for variant in variants:
        members: dict[str, Schema | Reference] = {}
        for name, prop in properties.items():
            if name in variant.absent:
                continue
            if name in variant.const:
                members[name] = Schema(const=variant.const[name])
            elif name in variant.required:
                members[name] = _without_null(prop)
            else:
                members[name] = prop
        shapes.append(
            Schema(
                type=OpenAPIType.OBJECT,
                title=variant.title,
                description=variant.description,
                properties=members,
                required=sorted(
                    (required - set(variant.absent)) | {*variant.const, *variant.required}
                ),
                additional_properties=False,
            )
        )
    schema.one_of = shapes
    schema.properties = None
    schema.required = None
    schema.additional_properties = None


def _without_null(prop: Schema | Reference) -> Schema | Reference:
    """A member's schema with ``null`` no longer allowed."""
    if isinstance(prop, Schema) and prop.one_of:
        kinds = [kind for kind in prop.one_of if not _is_null(kind)]
        if len(kinds) == 1:
            return kinds[0]
    return prop


def _set_bounds(prop: Schema, field_type: msgspec.inspect.Type) -> None:
    """Write the field's msgspec constraints onto the schema of its one non-null type."""
    if isinstance(field_type, msgspec.inspect.Metadata):
        field_type = field_type.type
    if isinstance(field_type, msgspec.inspect.UnionType):
        kinds = [t for t in field_type.types if not isinstance(t, msgspec.inspect.NoneType)]
        if len(kinds) != 1:
            return
        field_type = kinds[0].type if isinstance(kinds[0], msgspec.inspect.Metadata) else kinds[0]
    bounds: dict[str, Any] = {}
    if isinstance(field_type, msgspec.inspect.IntType | msgspec.inspect.FloatType):
        bounds = {
            "minimum": field_type.ge,
            "maximum": field_type.le,
            "exclusive_minimum": field_type.gt,
            "exclusive_maximum": field_type.lt,
        }
    elif isinstance(field_type, msgspec.inspect.StrType):
        bounds = {"min_length": field_type.min_length, "max_length": field_type.max_length}
    elif isinstance(field_type, msgspec.inspect.ListType):
        bounds = {"min_items": field_type.min_length, "max_items": field_type.max_length}
    elif isinstance(field_type, msgspec.inspect.DictType):
        bounds = {"min_properties": field_type.min_length, "max_properties": field_type.max_length}
    else:
        return
    members = [m for m in prop.one_of or [] if not _is_null(m)]
    target = prop
    if len(members) == 1 and isinstance(members[0], Schema):
        target = members[0]
        for key in bounds:  # Litestar may have put some of them beside the oneOf
            setattr(prop, key, None)
    for key, value in bounds.items():
        setattr(target, key, value)
    # The bounds of what a list or a dict holds (``dict[str, Annotated[int, Meta(ge=0)]]``).
    if isinstance(field_type, msgspec.inspect.ListType) and isinstance(target.items, Schema):
        _set_bounds(target.items, field_type.item_type)
    elif isinstance(field_type, msgspec.inspect.DictType) and isinstance(
        target.additional_properties, Schema
    ):
        _set_bounds(target.additional_properties, field_type.value_type)


def _is_null(schema: Schema | Reference) -> bool:
    return isinstance(schema, Schema) and schema.type == OpenAPIType.NULL


def finish_openapi(app: Litestar, *, page_size_max: int) -> None:
    """Add who needs a token, the problem responses and paging bounds to ``app``'s document."""
    openapi = app.openapi_schema
    openapi.components.schemas["Problem"] = PROBLEM_SCHEMA
    for method, operation, handler in _operations(app):
        secured = not handler.opt.get("public")  # exactly what ``authenticate`` checks
        if not secured:
            operation.security = []
        for parameter in operation.parameters or []:
            if isinstance(parameter, Parameter) and parameter.param_in == "query":
                _drop_null(parameter)
                # A handler with its own page bound says so: ``opt={"limit_max": 2000}``.
                _describe_paging(parameter, handler.opt.get("limit_max", page_size_max))
            elif isinstance(parameter, Parameter) and parameter.param_in == "header":
                _drop_null(parameter)
        responses = operation.responses = dict(operation.responses or {})
        statuses = _error_statuses(method, operation, secured=secured)
        # Handlers name their own further refusals: ``opt={"errors": (ResyncRequired, ...)}``.
        statuses |= {error.status for error in handler.opt.get("errors", ())}
        for status in sorted(statuses):
            responses[str(status)] = _problem_response(status)


def _error_statuses(method: str, operation: Operation, *, secured: bool) -> set[int]:
    """The statuses an operation may refuse with, besides any its handler ``raises``.

    Anything with parameters or a body can be malformed (400). A token-holder's operation can
    find the token bad (401), the role short (403) or the row missing (404), and its writes
    can collide (409). A body can be too large (413) and is where sign-ins and PINs travel,
    which are rate limited (429); a public operation with a body checks the credentials in
    it (401).
    """
    statuses = {int(code) for code in operation.responses or {} if int(code) >= 400}
    if operation.parameters or operation.request_body:
        statuses.add(ValidationFailed.status)
    if secured:
        statuses |= {NotAuthenticated.status, Forbidden.status, NotFound.status}
        if operation.request_body and method in _WRITES:
            statuses.add(Conflict.status)
    if operation.request_body:
        statuses |= {PayloadTooLarge.status, RateLimited.status}
        if not secured:
            statuses.add(NotAuthenticated.status)
    return statuses


def _operations(app: Litestar) -> Iterator[tuple[str, Operation, HTTPRouteHandler]]:
    paths = app.openapi_schema.paths or {}
    for route in app.routes:
        path_item = paths.get(route.path_format or "/")
        if not isinstance(route, HTTPRoute) or not isinstance(path_item, PathItem):
            continue
        for handler in route.route_handlers:
            for method in handler.http_methods:
                operation = getattr(path_item, method.lower(), None)
                if isinstance(operation, Operation):
                    yield method.lower(), operation, handler


def _drop_null(parameter: Parameter) -> None:
    """An optional query parameter is left out, never sent as JSON ``null``; a header is a
    string or absent (a required one may be typed ``str | None`` so that its handler, not
    Litestar, words the refusal). Bounds declared beside the ``oneOf`` move onto the type."""
    schema = parameter.schema
    if not isinstance(schema, Schema) or not schema.one_of:
        return
    kinds = [kind for kind in schema.one_of if not _is_null(kind)]
    if len(kinds) != 1 or (parameter.required and parameter.param_in != "header"):
        return
    kind = kinds[0]
    if isinstance(kind, Schema):
        for key in ("min_length", "max_length", "pattern", "minimum", "maximum"):
            if getattr(schema, key) is not None:
                setattr(kind, key, getattr(schema, key))
    parameter.schema = kind


def _describe_paging(parameter: Parameter, page_size_max: int) -> None:
    """The bounds ``server.pagination.page_size`` and ``decode_cursor`` enforce."""
    if parameter.name == "limit":
        parameter.schema = Schema(
            type=OpenAPIType.INTEGER,
            minimum=1,
            maximum=page_size_max,
            description="Rows per page",
        )
    elif parameter.name == "cursor":
        parameter.schema = Schema(
            type=OpenAPIType.STRING,
            description="Opaque: the `next_cursor` of the previous page, passed back unchanged",
        )


def _problem_response(status: int) -> OpenAPIResponse:
    error = _ERRORS.get(status)
    return OpenAPIResponse(
        description=error.title if error else HTTPStatus(status).phrase,
        content={
            PROBLEM_MEDIA_TYPE: OpenAPIMediaType(
                schema=Reference(ref="#/components/schemas/Problem")
            )
        },
    )
