"""Which parameters each endpoint of the fake Stripe takes: exactly those the SDK declares.

The official ``stripe`` package ships a TypedDict for every endpoint's parameters, generated
from Stripe's OpenAPI spec for the API version it pins (``stripe.params``). The fake reads
them at import, nested TypedDicts included, so it accepts what that version accepts and
answers anything else as Stripe does: 400 ``parameter_unknown`` naming the full bracketed
path (``payment_method_data[card]``). Upgrading the SDK moves the fake with it.
"""

from __future__ import annotations

import re
import sys
from functools import cache
from typing import Any, get_args

import stripe.params as sdk_params
from stripe._request_options import RequestOptions

from server.payments.fakes.stripe_fake_forms import Obj, StripeFakeError

_OPTIONS = RequestOptions.__required_keys__ | RequestOptions.__optional_keys__
"""Request options (``idempotency_key``, ``stripe_account`` …) travel as headers, not params."""
_FREE_FORM = re.compile(r"\bDict\[|UntypedStripeObject")
_PARAMS_CLASS = re.compile(r"\b([A-Z][A-Za-z0-9]*Params[A-Za-z0-9]*)\b")

Fields = dict[str, tuple[type, ...] | None]
"""Parameter name → the TypedDicts its value may be (empty: a scalar), or None: any keys."""


@cache
def fields(*classes: type) -> Fields:
    """The parameters the TypedDicts ``classes`` declare (merged), request options left out."""
    merged: Fields = {}
    for cls in classes:
        module = sys.modules[cls.__module__]
        for name, annotation in cls.__annotations__.items():
            if name in _OPTIONS:
                continue
            text = repr(annotation)
            if _FREE_FORM.search(text):
                merged[name] = None
                continue
            nested = tuple(
                found
                for found in (
                    getattr(module, ref, None) or getattr(sdk_params, ref, None)
                    for ref in _PARAMS_CLASS.findall(text)
                )
                if isinstance(found, type)
            )
            previous = merged.get(name, ())
            merged[name] = None if previous is None else (*previous, *nested)
    return merged


def names(cls: type) -> frozenset[str]:
    """The top-level parameter names of one endpoint."""
    return frozenset(fields(cls))


def check(params: Obj, cls: type) -> None:
    """Refuse any parameter, at any depth, that the SDK's ``cls`` does not declare."""
    _check(params, (cls,), "")


def _check(params: Obj, classes: tuple[type, ...], prefix: str) -> None:
    known = fields(*classes)
    for key, value in params.items():
        path = f"{prefix}[{key}]" if prefix else key
        if key not in known:
            raise StripeFakeError(
                400, f"Received unknown parameter: {path}", code="parameter_unknown", param=path
            )
        nested = known[key]
        if not nested:
            continue  # free-form (metadata) or a scalar
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                _check(item, nested, path)


def literal_values(cls: type, name: str) -> frozenset[str]:
    """The documented values of an enum parameter (``capture_method``), from its Literal."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        for arg in get_args(node):
            if isinstance(arg, str):
                found.add(arg)
            else:
                walk(arg)

    annotation = cls.__annotations__[name]
    text = repr(annotation)
    for literal in re.findall(r"Literal\[([^\]]*)\]", text):
        found.update(re.findall(r"'([^']*)'", literal))
    walk(annotation)
    return frozenset(found)
