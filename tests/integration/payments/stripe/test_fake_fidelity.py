"""Every object the fake Stripe returns, held to Stripe's published examples and the SDK.

For each resource the fake serves (PaymentIntent, Charge, Refund, BalanceTransaction, Event,
PaymentMethod, and the list object), the object must:

- carry every field of Stripe's own example of that resource (``tests/fakes/stripe-reference/
  fixtures3.json``, from ``stripe/openapi``), with the same JSON type wherever both are set;
- carry only fields the official SDK's typed class declares (``stripe.PaymentIntent`` …),
  at every depth where the SDK types the nested object, and be null only where it is
  ``Optional`` there.

So the fake cannot drift from the API version the SDK pins without this test failing.
"""

from __future__ import annotations

import json
import types
import typing
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe

from tests.fakes.stripe import StripeFake

FIXTURES = Path(__file__).parents[4] / "tests" / "fakes" / "stripe-reference" / "fixtures3.json"
SDK_CLASSES: dict[str, type] = {
    "payment_intent": stripe.PaymentIntent,
    "charge": stripe.Charge,
    "refund": stripe.Refund,
    "balance_transaction": stripe.BalanceTransaction,
    "event": stripe.Event,
    "payment_method": stripe.PaymentMethod,
    "list": stripe.ListObject,
}
LIST_FIELDS = {"object", "data", "has_more", "url"}
"""A list has no fixture of its own: Stripe's list envelope (docs.stripe.com/api/pagination)."""
NOT_SENT = {("charge", "refunds")}
"""Fixture fields the API sends only when expanded: ``charge.refunds`` since 2022-11-15
(docs.stripe.com/changelog), and so not in a charge the fake returns."""


def fixtures() -> dict[str, Any]:
    resources: dict[str, Any] = json.loads(FIXTURES.read_text())["resources"]
    return resources


def json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def _unwrap(annotation: Any) -> tuple[bool, list[Any]]:
    """(is Optional, the non-None alternatives) of an SDK annotation."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = list(typing.get_args(annotation))
        return type(None) in members, [m for m in members if m is not type(None)]
    return False, [annotation]


def sdk_problems(value: dict[str, Any], cls: type, where: str) -> list[str]:
    """Fields the SDK's class does not declare, or null where it does not allow null."""
    hints: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        hints.update(getattr(klass, "__annotations__", {}))
    problems = []
    for key, field in value.items():
        if key == "object" or (cls is stripe.Event and key == "data"):
            continue
        if key not in hints:
            problems.append(f"{where}.{key}: not in {cls.__name__}")
            continue
        optional, members = _unwrap(hints[key])
        if field is None and not optional:
            problems.append(f"{where}.{key}: null, but {cls.__name__} says not Optional")
        nested = [m for m in members if isinstance(m, type) and issubclass(m, stripe.StripeObject)]
        if isinstance(field, dict) and nested and not hasattr(nested[0], "OBJECT_NAME"):
            problems += sdk_problems(field, nested[0], f"{where}.{key}")
    return problems


def fixture_problems(value: dict[str, Any], fixture: dict[str, Any], where: str) -> list[str]:
    """Fixture fields missing from ``value``, or set with another JSON type."""
    problems = []
    for key, example in fixture.items():
        if (value["object"], key) in NOT_SENT:
            continue
        if key not in value:
            problems.append(f"{where}.{key}: missing (the fixture has it)")
            continue
        mine = value[key]
        if example is None or mine is None:
            continue
        if json_type(example) != json_type(mine):
            problems.append(
                f"{where}.{key}: {json_type(mine)}, the fixture has {json_type(example)}"
            )
    return problems


async def every_object(fake: StripeFake) -> list[dict[str, Any]]:
    """What the fake answers across a payment's life: create, confirm, capture, refund…"""
    headers = {"Authorization": f"Bearer {fake.api_key}"}
    async with httpx.AsyncClient(base_url=fake.url, timeout=10, trust_env=False) as http:

        async def call(method: str, path: str, form: dict[str, str] | None = None) -> Any:
            response = await http.request(
                method, path, data=form if method == "POST" else None,
                params=form if method == "GET" else None, headers=headers,
            )  # fmt: skip
            assert response.status_code == 200, response.text
            return response.json()

        method = await call(
            "POST", "/v1/payment_methods", {"type": "card", "card[token]": "tok_mastercard"}
        )
        paid = await call(
            "POST", "/v1/payment_intents",
            {"amount": "1500", "currency": "gbp", "confirm": "true", "payment_method": method["id"],
             "allowed_payment_method_types[]": "card", "metadata[payment_id]": "p-1"},
        )  # fmt: skip
        await fake.release_balance_transactions()
        held = await call(
            "POST", "/v1/payment_intents",
            {"amount": "900", "currency": "gbp", "confirm": "true", "capture_method": "manual",
             "payment_method": "pm_card_visa", "allowed_payment_method_types[]": "card"},
        )  # fmt: skip
        captured = await call("POST", f"/v1/payment_intents/{held['id']}/capture")
        waiting = await call("POST", "/v1/payment_intents", {"amount": "700", "currency": "gbp"})
        canceled = await call("POST", f"/v1/payment_intents/{waiting['id']}/cancel")
        refund = await call("POST", "/v1/refunds", {"payment_intent": paid["id"], "amount": "100"})
        charge = await call("GET", f"/v1/charges/{paid['latest_charge']}")
        txn = await call("GET", f"/v1/balance_transactions/{charge['balance_transaction']}")
        events = await call("GET", "/v1/events", {"limit": "100"})
        lists = [
            events,
            await call("GET", "/v1/refunds", {"payment_intent": paid["id"]}),
            await call("GET", "/v1/payment_intents"),
            await call("GET", "/v1/balance_transactions"),
        ]
        objects = [method, paid, held, captured, waiting, canceled, refund, charge, txn, *lists]
        for page in lists:
            objects += page["data"]
        for event in events["data"]:
            objects.append(event["data"]["object"])
        return objects


async def test_every_object_the_fake_returns_matches_stripes_example_and_the_sdk(
    stripe_fake: StripeFake,
) -> None:
    examples = fixtures()
    objects = await every_object(stripe_fake)
    seen = {found["object"] for found in objects}
    assert seen == set(SDK_CLASSES), seen

    problems: list[str] = []
    for found in objects:
        kind = found["object"]
        where = f"{kind}:{found.get('id', '')}"
        if kind == "list":
            if set(found) != LIST_FIELDS:
                problems.append(f"{where}: fields {sorted(found)}")
            continue
        problems += fixture_problems(found, examples[kind], where)
        problems += sdk_problems(found, SDK_CLASSES[kind], where)
    # One line per resource and field (ids left out), so a failure reads as a short list.
    assert sorted({p.split(":", 1)[0] + ":" + p.split(".", 1)[-1] for p in problems}) == []


@pytest.mark.parametrize("kind", sorted(set(SDK_CLASSES) - {"list"}))
def test_the_reference_fixture_is_in_the_repository(kind: str) -> None:
    assert kind in fixtures()
