"""Every object the fake Stripe returns, held to Stripe's published examples and the SDK.

For each resource the fake serves (PaymentIntent, Charge, Refund, BalanceTransaction, Event,
PaymentMethod, Stripe Terminal's ConnectionToken, Location and Reader, and the list and search
envelopes), online and in person (``card_present``), the object must:

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
    "terminal.connection_token": stripe.terminal.ConnectionToken,
    "terminal.location": stripe.terminal.Location,
    "terminal.reader": stripe.terminal.Reader,
    "list": stripe.ListObject,
    "search_result": stripe.SearchResultObject,
}
ENVELOPES = {
    "list": {"object", "data", "has_more", "url"},
    "search_result": {"object", "data", "has_more", "next_page", "url"},
}
"""Envelopes have no fixture of their own: Stripe's list (docs.stripe.com/api/pagination) and
search result (docs.stripe.com/api/payment_intents/search; ``next_page`` null on the last page,
though ``stripe.SearchResultObject`` types it ``str``)."""
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
        if key == fixture.get("type") and value.get("type") not in (None, key):
            # The hash named by ``type`` (a PaymentMethod's ``card``) is the object's own type's.
            key = value["type"]
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


async def in_person_objects(fake: StripeFake) -> list[dict[str, Any]]:
    """What the fake answers for Stripe Terminal: a reader's payment, Tap to Pay, offline."""
    headers = {"Authorization": f"Bearer {fake.api_key}"}
    async with httpx.AsyncClient(base_url=fake.url, timeout=10, trust_env=False) as http:

        async def call(method: str, path: str, form: dict[str, str] | None = None) -> Any:
            response = await http.request(
                method, path, data=form if method == "POST" else None,
                params=form if method == "GET" else None, headers=headers,
            )  # fmt: skip
            assert response.status_code == 200, response.text
            return response.json()

        async def control(path: str, body: dict[str, Any]) -> Any:
            response = await http.post(path, json=body)
            assert response.status_code == 200, response.text
            return response.json()

        location = await call(
            "POST", "/v1/terminal/locations",
            {"display_name": "Soho", "address[line1]": "1 Dean St", "address[city]": "London",
             "address[postal_code]": "W1D 3RB", "address[country]": "GB"},
        )  # fmt: skip
        token = await call("POST", "/v1/terminal/connection_tokens", {"location": location["id"]})
        reader = await call(
            "POST", "/v1/terminal/readers",
            {"registration_code": "simulated-wpe", "location": location["id"]},
        )  # fmt: skip
        card_present = {"allowed_payment_method_types[]": "card_present", "currency": "gbp"}
        held = await call(
            "POST", "/v1/payment_intents",
            {**card_present, "amount": "1000", "capture_method": "manual",
             "metadata[payment_id]": "p-in"},
        )  # fmt: skip
        started = await call(
            "POST", f"/v1/terminal/readers/{reader['id']}/process_payment_intent",
            {"payment_intent": held["id"], "process_config[tipping][amount_eligible]": "1000"},
        )  # fmt: skip
        tipped = await call(
            "POST", f"/v1/test_helpers/terminal/readers/{reader['id']}/present_payment_method",
            {"amount_tip": "100"},
        )  # fmt: skip
        refused = await call("POST", "/v1/payment_intents", {**card_present, "amount": "900"})
        await call(
            "POST", f"/v1/terminal/readers/{reader['id']}/process_payment_intent",
            {"payment_intent": refused["id"]},
        )  # fmt: skip
        failed = await call(
            "POST", f"/v1/test_helpers/terminal/readers/{reader['id']}/present_payment_method",
            {"card_present[number]": "4000000000000002"},
        )  # fmt: skip
        tapped = await control("/_fake/terminal/tap", {"payment_intent": refused["id"]})
        forwarded = await control(
            "/_fake/terminal/forward_offline",
            {"amount": 800, "currency": "gbp", "metadata": {"payment_id": "p-off"},
             "capture_method": "manual"},
        )  # fmt: skip
        await control("/_fake/authorizations/age", {"seconds": 5 * 86_400})
        charge = await call("GET", f"/v1/charges/{forwarded['latest_charge']}")
        method = await call("GET", f"/v1/payment_methods/{charge['payment_method']}")
        lapsed = await call("GET", f"/v1/payment_intents/{held['id']}")
        found = await call(
            "GET", "/v1/payment_intents/search",
            {"query": "metadata['payment_id']:'p-in'", "expand[]": "data.latest_charge"},
        )  # fmt: skip
        lists = [
            await call("GET", "/v1/terminal/readers", {"location": location["id"]}),
            await call("GET", "/v1/terminal/locations"),
            await call("GET", f"/v1/terminal/readers/{reader['id']}"),
        ]
        events = await call("GET", "/v1/events", {"limit": "100"})
        objects = [token, location, started, tipped, failed, tapped, forwarded, charge, method]
        objects += [lapsed, found, *found["data"], found["data"][0]["latest_charge"], *lists]
        for page in lists[:2]:
            objects += page["data"]
        for event in events["data"]:
            objects.append(event["data"]["object"])
        return objects


async def test_every_object_the_fake_returns_matches_stripes_example_and_the_sdk(
    stripe_fake: StripeFake,
) -> None:
    examples = fixtures()
    objects = await every_object(stripe_fake) + await in_person_objects(stripe_fake)
    seen = {found["object"] for found in objects}
    assert seen == set(SDK_CLASSES), seen
    kinds = {(found["object"], found.get("type")) for found in objects}
    assert {("payment_method", "card_present"), ("payment_method", "card")} <= kinds

    problems: list[str] = []
    for found in objects:
        kind = found["object"]
        where = f"{kind}:{found.get('id', '')}"
        if kind in ENVELOPES:
            if set(found) != ENVELOPES[kind]:
                problems.append(f"{where}: fields {sorted(found)}")
            continue
        problems += fixture_problems(found, examples[kind], where)
        problems += sdk_problems(found, SDK_CLASSES[kind], where)
    # One line per resource and field (ids left out), so a failure reads as a short list.
    assert sorted({p.split(":", 1)[0] + ":" + p.split(".", 1)[-1] for p in problems}) == []


@pytest.mark.parametrize("kind", sorted(set(SDK_CLASSES) - set(ENVELOPES)))
def test_the_reference_fixture_is_in_the_repository(kind: str) -> None:
    assert kind in fixtures()
