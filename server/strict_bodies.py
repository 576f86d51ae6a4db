"""Decode request bodies strictly: ``"price": "4.00"`` is an error, never 4 pence.

Litestar converts handler arguments in lax mode so query strings can become numbers; for a
JSON body that would silently turn strings into amounts. This hook decodes each body once
more, strictly, against the handler's declared type before the handler runs. Instants in
the query string get the same care: lax mode would read ``opened_from=3933`` as a Unix time,
and a parameter sent twice is refused rather than read as its last value (``?limit=5&limit=7``
would list seven rows).
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from typing import Any, get_args

import msgspec
from litestar import Request
from litestar.routes import HTTPRoute

from server.errors import ClientError, ValidationFailed, field_in_message, message_without_path
from server.settings import get_settings


class RepeatedParameter(ClientError):
    """A query parameter the handler reads once was sent more than once."""

    code = "repeated_parameter"
    title = "A query parameter is repeated"


async def check_body_strictly(request: Request[Any, Any, Any]) -> None:
    """Refuse a body whose JSON types do not match the handler's ``data`` type exactly."""
    _check_repeated_parameters(request)
    _check_query_values(request)
    parameter = request.route_handler.parsed_fn_signature.parameters.get("data")
    if parameter is None:
        return
    body = await request.body()
    _check_depth(body)
    # The sync push checks NUL change by change (a text an iPad took down must never wedge
    # its queue); every other body is refused whole.
    if b"\\u0000" in body and not request.route_handler.opt.get("nul_checked_per_change"):
        # PostgreSQL text cannot hold NUL; refuse it here rather than fail on insert.
        raise ValidationFailed("text must not contain NUL (\\u0000) characters", field="body")
    try:
        msgspec.json.decode(body, type=parameter.annotation, strict=True)
    except msgspec.ValidationError as exc:
        message, field = message_without_path(str(exc)), field_in_message(str(exc))
        raise ValidationFailed(
            message, field=field, errors=[{"field": field or "body", "message": message}]
        ) from exc
    except msgspec.DecodeError as exc:
        raise ValidationFailed("the body is not valid JSON", field="body") from exc


# A JSON string, escapes and all; one never closed runs to the end (as any parser reads it),
# so every opening quote matches at once and the scan stays linear whatever the body.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*+(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


class NestingTooDeep(ClientError):
    code = "nesting_too_deep"
    title = "The body is nested too deeply"


def _check_depth(body: bytes) -> None:
    """Refuse JSON nested deeper than FYNLO_MAX_JSON_DEPTH before anything recursive reads
    it: deep nesting only costs stack and time, and no body of ours needs it."""
    limit = get_settings().max_json_depth
    if body.count(b"[") + body.count(b"{") <= limit:
        return  # too few brackets to be too deep: the common case costs two counts
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    depth = 0
    for byte in brackets:
        depth += 1 if byte in b"[{" else -1
        if depth > limit:
            raise NestingTooDeep(f"JSON may nest at most {limit} levels", field="body")


def _check_repeated_parameters(request: Request[Any, Any, Any]) -> None:
    """Refuse a repeated query parameter unless the handler declares it as a sequence."""
    counts = Counter(name for name, _ in request.query_params.multi_items())
    if all(count == 1 for count in counts.values()):
        return  # the common case: nothing repeated, nothing to look up
    read, sequences = _query_parameters(request)
    for name, count in counts.items():
        if count > 1 and name in read and name not in sequences:
            raise RepeatedParameter(f"`{name}` is given {count} times; send it once", field=name)


def _query_parameters(request: Request[Any, Any, Any]) -> tuple[set[str], set[str]]:
    """The query parameters the handler reads, and those of them it takes as a sequence.

    Both come from the handler's declared types, as Litestar resolved them for its route
    (dependencies' parameters included): Litestar itself reads the last value of any other.
    """
    handler = request.route_handler
    for route in request.app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for route_handler, kwargs_model in route.route_handler_map.values():
            if route_handler is handler:
                return (
                    {p.field_alias for p in kwargs_model.expected_query_params},
                    set(kwargs_model.sequence_query_parameter_names),
                )
    return set(), set()


def _check_query_values(request: Request[Any, Any, Any]) -> None:
    """Refuse query values the document does not allow: "null", and instants not in RFC 3339."""
    for name, parameter in request.route_handler.parsed_fn_signature.parameters.items():
        if name not in request.query_params:
            continue
        if request.query_params[name] == "null":
            # Lax mode reads the text "null" as "not given"; the document says to leave it out.
            raise ValidationFailed("leave the parameter out rather than sending null", field=name)
        if datetime not in (parameter.annotation, *get_args(parameter.annotation)):
            continue
        try:
            msgspec.convert(request.query_params[name], datetime, strict=True)
        except msgspec.ValidationError as exc:
            raise ValidationFailed(
                "not an RFC 3339 date-time, e.g. 2026-11-26T18:00:00Z", field=name
            ) from exc
