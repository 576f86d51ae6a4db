"""How the fake Stripe reads Stripe's form-encoded parameters and answers with Stripe's errors.

Stripe's v1 API takes ``application/x-www-form-urlencoded`` bodies with bracketed keys
(``metadata[payment_id]=…``, ``expand[0]=…``, ``expand[]=…``) and answers every failure with
``{"error": {"type", "code", "message", "param", "decline_code"}}``; the SDK chooses its
exception class from the HTTP status and ``type`` (https://docs.stripe.com/api/errors).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

Obj = dict[str, Any]
"""A Stripe object as JSON: what the fake stores and sends."""

_BRACKETS = re.compile(r"\[([^\[\]]*)\]")


class StripeFakeError(Exception):
    """An answer in Stripe's error shape; ``status`` picks the SDK's exception class."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        kind: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
        extra: Obj | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error: Obj = {
            "type": kind,
            "code": code,
            "message": message,
            "param": param,
            "decline_code": decline_code,
            **(extra or {}),
        }

    def body(self) -> Obj:
        return {"error": self.error}


def missing(kind: str, object_id: str, param: str = "id") -> StripeFakeError:
    return StripeFakeError(
        404, f"No such {kind}: '{object_id}'", code="resource_missing", param=param
    )


def parse_form(text: str) -> Obj:
    """Nested dicts (and lists, for numbered or ``[]`` keys) from a Stripe form body."""
    root: Obj = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        head, bracket, rest = key.partition("[")
        path = [head, *_BRACKETS.findall(bracket + rest)]
        node = root
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise StripeFakeError(400, f"Invalid hash: {key}", param=key)
            node = child
        last = path[-1] if path[-1] != "" else str(len(node))
        node[last] = value
    parsed = _lists_from_numbered(root)
    if not isinstance(parsed, dict):
        raise StripeFakeError(400, "Parameters must have names, not only numbers.")
    return parsed


def _lists_from_numbered(node: Obj) -> Any:
    values = {key: _lists_from_numbered(v) if isinstance(v, dict) else v for key, v in node.items()}
    if values and all(key.isdigit() for key in values):
        return [values[key] for key in sorted(values, key=int)]
    return values


def only(params: Obj, allowed: frozenset[str]) -> None:
    """Refuse unknown parameters, as Stripe does: a typo must fail loudly, not be ignored."""
    for name in params:
        if name not in allowed:
            raise StripeFakeError(
                400, f"Received unknown parameter: {name}", code="parameter_unknown", param=name
            )


def integer(params: Obj, name: str, *, default: int | None = None) -> int:
    raw = params.get(name)
    if raw is None:
        if default is None:
            raise StripeFakeError(
                400, f"Missing required param: {name}.", code="parameter_missing", param=name
            )
        return default
    if not isinstance(raw, str) or not raw.lstrip("-").isdigit():
        raise StripeFakeError(
            400, f"Invalid integer: {raw}", code="parameter_invalid_integer", param=name
        )
    return int(raw)


def text(params: Obj, name: str) -> str | None:
    raw = params.get(name)
    if raw is not None and not isinstance(raw, str):
        raise StripeFakeError(400, f"Invalid string: {name}", param=name)
    return raw


def flag(params: Obj, name: str) -> bool:
    return params.get(name) == "true"


def strings(params: Obj, name: str) -> list[str]:
    raw = params.get(name, [])
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise StripeFakeError(400, f"Invalid array: {name}", param=name)
    return raw


def metadata(params: Obj) -> dict[str, str]:
    raw = params.get("metadata", {})
    if raw == "":
        return {}
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise StripeFakeError(400, "Invalid metadata: must be a hash of strings", param="metadata")
    return dict(raw)
