"""Cards taken offline: they arrive through sync, pay their orders, and meet the PaymentIntents
the iPad's Terminal SDK forwards to Stripe later, exactly once; declined ones reopen the order
and are shown as money owed; payments past the restaurant's limits wait for a manager."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from litestar import Litestar

from server.auth.tables import Role
from server.payments import poller, reconcile
from tests.factories import Ipad, Tenant, make_ipad, sign_in, staff_member
from tests.fakes.stripe import StripeFake
from tests.integration.payments.api import keyed, order_payments
from tests.integration.payments.in_person import DECLINED, VISA, deliver, sdk
from tests.integration.sync.test_push_rules import (
    change,
    line_fields,
    order_fields,
    prefix_of,
    pull_page,
    push,
)
from tests.problems import assert_problem

pytestmark = pytest.mark.usefixtures("with_stripe")

DAY = datetime(2026, 11, 26, tzinfo=UTC)
"""The day of the test's sales: their cards were stored at 12:31, 12:32 …"""


async def sold_offline(
    client: httpx.AsyncClient, ipad: Ipad, *, number: int = 1, price: int = 320
) -> tuple[UUID, UUID]:
    """One dish sold and paid by card with no network, pushed when the iPad is back (an open
    item at ``price``: the iPad needs its manager signed in)."""
    prefix = await prefix_of(ipad)
    order_id, payment_id = uuid4(), uuid4()
    card = {
        "order_id": str(order_id),
        "amount": price,
        "currency": "GBP",
        "stored_at": f"2026-11-26T12:{30 + number:02d}:00Z",
    }
    seq = 4 * (number - 1)  # each sale's changes after the last's, as the iPad numbers them
    line = line_fields(order_id, unit_price=price)
    changes = [
        change(ipad, seq + 1, "order", order_id, order_fields(prefix, number)),
        change(ipad, seq + 2, "order_line", uuid4(), line),
        change(ipad, seq + 3, "offline_card_payment", payment_id, card),
        # The till closes the bill itself, as it does for cash.
        change(ipad, seq + 4, "order", order_id, {"status": "paid"}, clock=2),
    ]
    response = await push(client, ipad, changes)
    assert response.status_code == 200, response.text
    outcomes = [result["outcome"] for result in response.json()["results"]]
    assert set(outcomes) <= {"applied", "merged"}, [
        (r["seq"], r.get("reason"), r.get("detail")) for r in response.json()["results"]
    ]
    return order_id, payment_id


async def forward(
    stripe_fake: StripeFake, payment_id: UUID, amount: int = 320, number: str = VISA
) -> dict[str, Any]:
    """The iPad's Terminal SDK forwards the stored payment to Stripe (the fake plays it)."""
    intent: dict[str, Any] = await stripe_fake.control(
        "POST",
        "/_fake/terminal/forward_offline",
        {
            "amount": amount,
            "currency": "gbp",
            "metadata": {"payment_id": str(payment_id)},
            "capture_method": "manual",
            "number": number,
            "stored_at": 1_764_160_200,
        },
    )
    return intent


async def pulled_order(client: httpx.AsyncClient, ipad: Ipad, order_id: UUID) -> dict[str, Any]:
    """The order as ``ipad`` has it after pulling everything."""
    cursor, found = None, None
    for _ in range(50):  # bounded: a test restaurant's feed is a few pages
        page = (await pull_page(client, ipad, cursor)).json()
        for state in page["changes"]:
            if state["entity_id"] == str(order_id):
                found = state["data"]
        if not page["has_more"]:
            break
        cursor = page["cursor"]
    assert found is not None, "the iPad never received the order"
    return found


async def payment(client: httpx.AsyncClient, tenant: Tenant, payment_id: UUID) -> dict[str, Any]:
    got: dict[str, Any] = (
        await client.get(f"/api/v1/payments/{payment_id}", headers=tenant.headers)
    ).json()
    return got


async def test_a_card_taken_offline_pays_its_order_and_is_captured_once_forwarded(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, stripe_fake: StripeFake
) -> None:
    ipad = await make_ipad(app, tenant, signed_in=Role.manager)
    order_id, payment_id = await sold_offline(client, ipad)
    waiting = await payment(client, tenant, payment_id)
    assert (waiting["method"], waiting["state"], waiting["offline_stored_at"]) == (
        "card_present",
        "authorizing",
        "2026-11-26T12:31:00Z",
    )
    summary = await order_payments(client, tenant.headers, order_id)
    assert summary["order_status"] == "paid"  # the customer has left; Stripe decides later
    # Stored more than a day ago (the test's dates are in the past) and not at Stripe yet.
    late = (await client.get("/api/v1/payments/attention", headers=tenant.headers)).json()
    assert [(o["payment_id"], o["why"]) for o in late] == [(str(payment_id), "not_forwarded")]
    intent = await forward(stripe_fake, payment_id)
    kind = "payment_intent.amount_capturable_updated"
    assert await deliver(client, stripe_fake, intent["id"], kind) == [200]
    assert await deliver(client, stripe_fake, intent["id"], kind) == [200]  # delivered again
    done = await payment(client, tenant, payment_id)
    assert (done["state"], done["charged"]) == ("succeeded", 320)
    counts = (await stripe_fake.stats())["by_payment_id"][str(payment_id)]
    assert counts["succeeded_charges"] == 1
    owed = await client.get("/api/v1/payments/attention", headers=tenant.headers)
    assert owed.json() == []


async def test_a_forward_that_beats_the_push_is_matched_by_the_sweep(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, stripe_fake: StripeFake
) -> None:
    ipad = await make_ipad(app, tenant, signed_in=Role.manager)
    early_id = uuid4()
    intent = await forward(stripe_fake, early_id)
    # Its webhook finds no payment yet: 404, so Stripe retries; nothing is lost.
    kind = "payment_intent.amount_capturable_updated"
    assert await deliver(client, stripe_fake, intent["id"], kind) == [404]
    # The iPad pushes the same payment a moment later (ids are the iPad's own).
    prefix = await prefix_of(ipad)
    order_id = uuid4()
    card = {
        "order_id": str(order_id),
        "amount": 320,
        "currency": "GBP",
        "stored_at": "2026-11-26T12:30:00Z",
    }
    pushed = await push(
        client,
        ipad,
        [
            change(ipad, 1, "order", order_id, order_fields(prefix, 1)),
            change(ipad, 2, "order_line", uuid4(), line_fields(order_id)),
            change(ipad, 3, "offline_card_payment", early_id, card),
        ],
    )
    assert pushed.status_code == 200, pushed.text
    report = await poller.sweep()
    assert report.forwarded == 1
    assert (await payment(client, tenant, early_id))["state"] == "succeeded"
    assert (await poller.sweep()).forwarded == 0  # matched once
    summary = await order_payments(client, tenant.headers, order_id)
    assert (summary["order_status"], summary["paid"]) == ("paid", 320)


async def test_a_card_declined_after_forwarding_reopens_the_order_and_is_owed(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, stripe_fake: StripeFake
) -> None:
    ipad = await make_ipad(app, tenant, signed_in=Role.manager)
    order_id, payment_id = await sold_offline(client, ipad)
    intent = await forward(stripe_fake, payment_id, number=DECLINED)
    assert await deliver(client, stripe_fake, intent["id"], "payment_intent.payment_failed") == [
        200
    ]
    failed = await payment(client, tenant, payment_id)
    assert (failed["state"], failed["failure_reason"]) == ("failed", "generic_decline")
    summary = await order_payments(client, tenant.headers, order_id)
    assert (summary["order_status"], summary["remaining"]) == ("sent", 320)
    # Every iPad sees the order open again, through sync.
    other = await make_ipad(app, tenant, name="Other")
    assert (await pulled_order(client, other, order_id))["status"] == "sent"
    owed = (await client.get("/api/v1/payments/attention", headers=tenant.headers)).json()
    assert [(o["payment_id"], o["why"], o["amount"]) for o in owed] == [
        (str(payment_id), "declined", 320)
    ]
    report = await reconcile.reconcile(
        DAY, DAY + timedelta(days=1), restaurant_id=tenant.restaurant_id
    )
    assert [(f.kind, f.payment_id, f.ours) for f in report.findings] == [
        ("offline_card_owed", payment_id, 320)
    ]
    # The till takes the money another way, and the order is paid again.
    cash = await client.post(
        "/api/v1/payments",
        json={
            "order_id": str(order_id),
            "method": "cash",
            "amount": 320,
            "tendered": 500,
        },
        headers=keyed(tenant.headers),
    )
    assert cash.status_code == 201, cash.text
    summary = await order_payments(client, tenant.headers, order_id)
    assert summary["order_status"] == "paid"
    report = await reconcile.reconcile(
        DAY, DAY + timedelta(days=1), restaurant_id=tenant.restaurant_id
    )
    assert report.findings == []


async def test_a_card_past_the_offline_limit_waits_for_a_manager(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, stripe_fake: StripeFake
) -> None:
    lowered = await client.put(
        "/api/v1/payments/offline-card-limits",
        json={"per_payment": 300},
        headers=tenant.headers,
    )
    assert lowered.json() == {"per_payment": 300, "total": 100_000}
    ipad = await make_ipad(app, tenant, signed_in=Role.manager)
    order_id, payment_id = await sold_offline(client, ipad)
    assert (await payment(client, tenant, payment_id))["capture_hold"] == "over_offline_limit"
    intent = await forward(stripe_fake, payment_id)
    kind = "payment_intent.amount_capturable_updated"
    assert await deliver(client, stripe_fake, intent["id"], kind) == [200]
    assert (await poller.sweep()).moved == 0  # the sweep leaves it to the manager
    held = await payment(client, tenant, payment_id)
    assert (held["state"], held["capture_hold"]) == ("authorizing", "over_offline_limit")
    owed = (await client.get("/api/v1/payments/attention", headers=tenant.headers)).json()
    assert [(o["payment_id"], o["why"]) for o in owed] == [(str(payment_id), "held")]
    cashier = await sign_in(app, ipad, await staff_member(tenant, Role.cashier))
    refused = await client.post(
        f"/api/v1/payments/{payment_id}/capture", headers=keyed(cashier.headers)
    )
    assert_problem(refused, 403, "payment.capture_held")
    captured = await client.post(
        f"/api/v1/payments/{payment_id}/capture", headers=keyed(tenant.headers)
    )
    assert captured.status_code == 200, captured.text
    assert (captured.json()["state"], captured.json()["capture_hold"]) == ("succeeded", None)
    summary = await order_payments(client, tenant.headers, order_id)
    assert summary["order_status"] == "paid"


async def test_the_total_held_offline_on_one_ipad_is_capped_in_the_order_taken(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await client.put(
        "/api/v1/payments/offline-card-limits", json={"total": 500}, headers=tenant.headers
    )
    ipad = await make_ipad(app, tenant, signed_in=Role.manager)
    _, first = await sold_offline(client, ipad, number=1)
    _, second = await sold_offline(client, ipad, number=2)
    holds = [(await payment(client, tenant, p))["capture_hold"] for p in (first, second)]
    assert holds == [None, "over_offline_limit"]
    # Another iPad holds its own.
    other = await make_ipad(app, tenant, name="Other", signed_in=Role.manager)
    _, third = await sold_offline(client, other, number=1)
    assert (await payment(client, tenant, third))["capture_hold"] is None


async def test_a_payment_forwarded_twice_is_charged_once(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, stripe_fake: StripeFake
) -> None:
    ipad = await make_ipad(app, tenant, signed_in=Role.manager)
    _, payment_id = await sold_offline(client, ipad)
    first = await forward(stripe_fake, payment_id)
    second = await forward(stripe_fake, payment_id)
    kind = "payment_intent.amount_capturable_updated"
    assert await deliver(client, stripe_fake, first["id"], kind) == [200]
    assert await deliver(client, stripe_fake, second["id"], kind) == [200]
    got = await payment(client, tenant, payment_id)
    assert got["state"] == "succeeded"
    counts = (await stripe_fake.stats())["by_payment_id"][str(payment_id)]
    assert (counts["payment_intents"], counts["succeeded_charges"]) == (2, 1)
    async with sdk(stripe_fake) as stripe_sdk:
        released = await stripe_sdk.v1.payment_intents.retrieve_async(second["id"])
    assert released.status == "canceled"


async def test_only_an_owner_raises_the_offline_limits(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    office = await make_ipad(app, tenant, name="Office")
    manager = await sign_in(app, office, await staff_member(tenant, Role.manager))
    shown = await client.get("/api/v1/payments/offline-card-limits", headers=manager.headers)
    assert shown.json() == {"per_payment": 10_000, "total": 100_000}
    raised = await client.put(
        "/api/v1/payments/offline-card-limits",
        json={"per_payment": 20_000},
        headers=manager.headers,
    )
    assert_problem(raised, 403, "forbidden")
    assert raised.json()["reason"] == "owner_only"
