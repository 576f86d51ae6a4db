"""What the fake Stripe account reports: Stripe's paginated lists, and counts for tests.

Lists follow Stripe's pagination (https://docs.stripe.com/api/pagination): newest first,
``limit`` 1 to 100 (default 10), ``starting_after`` an id from the previous page, ``has_more``.
"""

from __future__ import annotations

from collections.abc import Callable

import stripe.params as sdk

from server.payments.fakes import stripe_fake_params as sdk_params
from server.payments.fakes.stripe_fake_forms import (
    Obj,
    StripeFakeError,
    integer,
    missing,
    strings,
    text,
)
from server.payments.fakes.stripe_fake_ledger import Ledger

_RANGE_OPERATORS: dict[str, Callable[[int, int], bool]] = {
    "gt": lambda value, bound: value > bound,
    "gte": lambda value, bound: value >= bound,
    "lt": lambda value, bound: value < bound,
    "lte": lambda value, bound: value <= bound,
}


def list_events(ledger: Ledger, params: Obj) -> Obj:
    """``GET /v1/events``; ``type`` may end in ``*`` (``payment_intent.*``), as on Stripe."""
    sdk_params.check(params, sdk.EventListParams)
    wanted = [name for name in [text(params, "type"), *strings(params, "types")] if name]
    events = [
        event
        for event in ledger.events
        if _created_within(event, params) and (not wanted or _type_matches(event, wanted))
    ]
    return paginate(events, params, "/v1/events")


def list_payment_intents(ledger: Ledger, params: Obj) -> Obj:
    """``GET /v1/payment_intents`` (https://docs.stripe.com/api/payment_intents/list)."""
    sdk_params.check(params, sdk.PaymentIntentListParams)
    customer = text(params, "customer")
    intents = [
        found
        for found in ledger.objects.values()
        if found["object"] == "payment_intent"
        and _created_within(found, params)
        and customer in (None, found.get("customer"))
    ]
    page = paginate(intents, params, "/v1/payment_intents")
    inner = {"expand": [path.removeprefix("data.") for path in strings(params, "expand")]}
    page["data"] = [ledger.render(item, inner) for item in page["data"]]
    return page


def list_balance_transactions(ledger: Ledger, params: Obj) -> Obj:
    """``GET /v1/balance_transactions``: what a reconciliation reads to learn Stripe's fees."""
    sdk_params.check(params, sdk.BalanceTransactionListParams)
    kind, source, currency = text(params, "type"), text(params, "source"), text(params, "currency")
    entries = [
        entry
        for entry in ledger.balance_transactions
        if _created_within(entry, params)
        and kind in (None, entry["type"])
        and source in (None, entry["source"])
        and currency in (None, entry["currency"])
    ]
    page = paginate(entries, params, "/v1/balance_transactions")
    # ``expand[]=data.source`` brings each movement's charge or refund, as on Stripe.
    inner = {"expand": [path.removeprefix("data.") for path in strings(params, "expand")]}
    page["data"] = [ledger.render(item, inner) for item in page["data"]]
    return page


def list_refunds(ledger: Ledger, params: Obj) -> Obj:
    """``GET /v1/refunds`` by ``charge`` or ``payment_intent`` (docs.stripe.com/api/refunds)."""
    sdk_params.check(params, sdk.RefundListParams)
    charge, intent = text(params, "charge"), text(params, "payment_intent")
    refunds = [
        found
        for found in ledger.objects.values()
        if found["object"] == "refund"
        and _created_within(found, params)
        and charge in (None, found["charge"])
        and intent in (None, found["payment_intent"])
    ]
    page = paginate(refunds, params, "/v1/refunds")
    inner = {"expand": [path.removeprefix("data.") for path in strings(params, "expand")]}
    page["data"] = [ledger.render(item, inner) for item in page["data"]]
    return page


def stats(ledger: Ledger) -> Obj:
    """Counts that let a test prove "exactly one PaymentIntent, one charge" per payment."""
    by_payment: dict[str, Obj] = {}

    def entry(found: Obj) -> Obj | None:
        payment_id = found["metadata"].get("payment_id")
        if payment_id is None:
            return None
        return by_payment.setdefault(
            payment_id, {"payment_intents": 0, "succeeded_charges": 0, "refunded": 0}
        )

    counts = {"payment_intents": 0, "succeeded_charges": 0, "refunds": 0, "refunded": 0}
    for found in ledger.objects.values():
        if found["object"] == "payment_intent":
            counts["payment_intents"] += 1
            if (payment := entry(found)) is not None:
                payment["payment_intents"] += 1
        elif found["object"] == "charge" and found["captured"]:
            counts["succeeded_charges"] += 1
            counts["refunded"] += found["amount_refunded"]
            if (payment := entry(found)) is not None:
                payment["succeeded_charges"] += 1
                payment["refunded"] += found["amount_refunded"]
        elif found["object"] == "refund":
            counts["refunds"] += 1
    return {**counts, "events": len(ledger.events), "by_payment_id": by_payment}


def paginate(newest_last: list[Obj], params: Obj, url: str) -> Obj:
    """One page of Stripe's list envelope over ``newest_last`` (oldest first, as stored)."""
    limit = integer(params, "limit", default=10)
    if not 1 <= limit <= 100:
        raise StripeFakeError(400, "limit must be between 1 and 100", param="limit")
    items = newest_last[::-1]
    after, before = text(params, "starting_after"), text(params, "ending_before")
    if after is not None:
        items = items[_position(items, after, "starting_after") + 1 :]
    elif before is not None:
        items = items[: _position(items, before, "ending_before")][-limit:]
    return {"object": "list", "data": items[:limit], "has_more": len(items) > limit, "url": url}


def _position(items: list[Obj], object_id: str, param: str) -> int:
    for index, item in enumerate(items):
        if item["id"] == object_id:
            return index
    raise missing("object", object_id, param)


def _created_within(found: Obj, params: Obj) -> bool:
    bounds = params.get("created")
    if bounds is None:
        return True
    if isinstance(bounds, str):
        return bool(found["created"] == integer(params, "created"))
    if not isinstance(bounds, dict) or not set(bounds) <= set(_RANGE_OPERATORS):
        raise StripeFakeError(400, "created must be a timestamp or a range", param="created")
    return all(
        _RANGE_OPERATORS[operator](found["created"], integer(bounds, operator))
        for operator in bounds
    )


def _type_matches(event: Obj, wanted: list[str]) -> bool:
    event_type = str(event["type"])
    return any(
        event_type.startswith(name[:-1]) if name.endswith("*") else event_type == name
        for name in wanted
    )
