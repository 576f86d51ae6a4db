"""Cards in person through Stripe Terminal: a reader the server drives, and Tap to Pay on the
iPad, with the real Stripe SDK against the fake's simulated reader."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx
import pytest
from litestar import Litestar

from server.auth.tables import Role
from server.db.engine import DB
from server.payments import poller
from tests.factories import Ipad, Tenant, make_ipad, make_order, sign_in, staff_member
from tests.fakes.stripe import StripeFake
from tests.integration.payments.api import keyed, order_payments, pay, refund
from tests.integration.payments.in_person import (
    DECLINED,
    deliver,
    present,
    reference_of,
    set_up_terminal,
)
from tests.problems import assert_problem

pytestmark = pytest.mark.usefixtures("with_stripe")

PIZZA = [("Pizza", 2500, 1, 2000)]


async def till(app: Litestar, tenant: Tenant) -> Ipad:
    """An iPad at ``tenant``'s location with its cashier signed in."""
    ipad = await make_ipad(app, tenant, name="Till")
    return await sign_in(app, ipad, await staff_member(tenant, Role.cashier))


async def start(
    client: httpx.AsyncClient, ipad: Ipad, order_id: UUID, **body: Any
) -> dict[str, Any]:
    made = await pay(client, ipad.headers, order_id, method="card_present", amount=2500, **body)
    assert made.status_code == 201, made.text
    payment: dict[str, Any] = made.json()
    assert (payment["state"], payment["client_secret"] is not None) == ("awaiting_customer", True)
    return payment


async def collect(
    client: httpx.AsyncClient, ipad: Ipad, payment_id: str, reader_id: str, **body: Any
) -> httpx.Response:
    return await client.post(
        f"/api/v1/payments/{payment_id}/collect",
        json={"reader_id": reader_id, **body},
        headers=keyed(ipad.headers),
    )


async def test_a_reader_takes_the_card_and_a_tip_and_the_server_captures_both(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, stripe_fake: StripeFake
) -> None:
    reader_id = await set_up_terminal(client, tenant)
    ipad = await till(app, tenant)
    order_id = await make_order(tenant, seq=1, lines=PIZZA)
    payment = await start(client, ipad, order_id)
    sent = await collect(client, ipad, payment["id"], reader_id, tip_on_reader=True)
    assert sent.status_code == 200, sent.text
    assert (sent.json()["state"], sent.json()["reader_id"]) == ("awaiting_customer", reader_id)
    await present(stripe_fake, reader_id, tip=300)
    reference = await reference_of(stripe_fake, payment["id"])
    # Stripe says the card is authorised; the server captures it at once.
    assert await deliver(
        client, stripe_fake, reference, "payment_intent.amount_capturable_updated"
    ) == [200]
    got = (await client.get(f"/api/v1/payments/{payment['id']}", headers=ipad.headers)).json()
    assert (got["state"], got["amount"], got["tip"], got["charged"]) == (
        "succeeded",
        2500,
        300,
        2800,
    )
    # Fees on what the card was charged: 1.4% + 10p of £28.00 = 49.2p, and 1% = 28p.
    assert (got["fees"]["estimated_provider_fee"], got["fees"]["platform_fee"]) == (49, 28)
    summary = await order_payments(client, ipad.headers, order_id)
    assert (summary["order_status"], summary["paid"], summary["tips"]) == ("paid", 2500, 300)
    counts = (await stripe_fake.stats())["by_payment_id"][payment["id"]]
    assert (counts["payment_intents"], counts["succeeded_charges"]) == (1, 1)
    # A card in person is refunded like any card.
    assert (await refund(client, tenant.headers, payment["id"], amount=800)).status_code == 201


async def test_a_declined_card_on_the_reader_fails_and_offers_the_fallback(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, stripe_fake: StripeFake
) -> None:
    reader_id = await set_up_terminal(client, tenant)
    ipad = await till(app, tenant)
    order_id = await make_order(tenant, seq=1, lines=PIZZA)
    payment = await start(client, ipad, order_id)
    assert (await collect(client, ipad, payment["id"], reader_id)).status_code == 200
    await present(stripe_fake, reader_id, number=DECLINED)
    reference = await reference_of(stripe_fake, payment["id"])
    assert await deliver(client, stripe_fake, reference, "payment_intent.payment_failed") == [200]
    got = (await client.get(f"/api/v1/payments/{payment['id']}", headers=ipad.headers)).json()
    assert (got["state"], got["failure_reason"]) == ("failed", "generic_decline")
    assert "card_present" not in got["fallback"] and got["fallback"]
    summary = await order_payments(client, ipad.headers, order_id)
    assert (summary["order_status"], summary["remaining"]) == ("open", 2500)


async def test_tap_to_pay_on_the_ipad_is_captured_when_the_ipad_asks(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, stripe_fake: StripeFake
) -> None:
    await set_up_terminal(client, tenant)
    ipad = await till(app, tenant)
    token = await client.post("/api/v1/payments/terminal/connection-token", headers=ipad.headers)
    assert token.status_code == 200, token.text
    assert token.json()["secret"].startswith("pst_")
    order_id = await make_order(tenant, seq=1, lines=PIZZA)
    payment = await start(client, ipad, order_id)
    reference = await reference_of(stripe_fake, payment["id"])
    # The iPad's Terminal SDK collects and confirms the card itself (the fake plays it).
    await stripe_fake.control(
        "POST", "/_fake/terminal/tap", {"payment_intent": reference, "number": "4242424242424242"}
    )
    key = keyed(ipad.headers)
    captured = await client.post(f"/api/v1/payments/{payment['id']}/capture", headers=key)
    assert captured.status_code == 200, captured.text
    assert captured.json()["state"] == "succeeded"
    again = await client.post(f"/api/v1/payments/{payment['id']}/capture", headers=key)
    assert again.content == captured.content  # the same key replays the answer
    # The webhook that follows changes nothing, and Stripe captured once.
    assert await deliver(
        client, stripe_fake, reference, "payment_intent.amount_capturable_updated"
    ) == [200]
    counts = (await stripe_fake.stats())["by_payment_id"][payment["id"]]
    assert counts["succeeded_charges"] == 1
    summary = await order_payments(client, ipad.headers, order_id)
    assert (summary["order_status"], summary["paid"]) == ("paid", 2500)


async def test_an_authorisation_whose_news_was_lost_is_captured_by_the_sweep(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, stripe_fake: StripeFake
) -> None:
    reader_id = await set_up_terminal(client, tenant)
    ipad = await till(app, tenant)
    order_id = await make_order(tenant, seq=1, lines=PIZZA)
    payment = await start(client, ipad, order_id)
    assert (await collect(client, ipad, payment["id"], reader_id)).status_code == 200
    await present(stripe_fake, reader_id)
    # No webhook reaches us and the iPad never asks; past its 15 minutes the sweep looks.
    assert DB.pool is not None
    await DB.pool.execute(
        "UPDATE payments SET expires_at = now() - interval '1 minute' WHERE id = $1",
        UUID(payment["id"]),
    )
    report = await poller.sweep()
    assert report.moved >= 1 and report.expired == 0
    got = (await client.get(f"/api/v1/payments/{payment['id']}", headers=ipad.headers)).json()
    assert got["state"] == "succeeded"


async def test_a_busy_reader_is_refused_and_the_payment_waits(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, stripe_fake: StripeFake
) -> None:
    reader_id = await set_up_terminal(client, tenant)
    ipad = await till(app, tenant)
    first = await start(client, ipad, await make_order(tenant, seq=1, lines=PIZZA))
    second = await start(client, ipad, await make_order(tenant, seq=2, lines=PIZZA))
    assert (await collect(client, ipad, first["id"], reader_id)).status_code == 200
    busy = await collect(client, ipad, second["id"], reader_id)
    assert_problem(busy, 409, "terminal.reader_refused")
    assert busy.json()["reason"] == "terminal_reader_busy"
    got = (await client.get(f"/api/v1/payments/{second['id']}", headers=ipad.headers)).json()
    assert got["state"] == "awaiting_customer"


async def test_readers_and_tokens_belong_to_their_location(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    bare = await make_ipad(app, tenant)
    # Before the location is set up there is nothing to connect to.
    missing = await client.post("/api/v1/payments/terminal/connection-token", headers=bare.headers)
    assert_problem(missing, 409, "terminal.location_not_set_up")
    reader_id = await set_up_terminal(client, tenant)
    # A bare iPad connects its SDK (it must, to take cards offline later); it takes no money.
    token = await client.post("/api/v1/payments/terminal/connection-token", headers=bare.headers)
    assert token.status_code == 200, token.text
    listed = await client.get("/api/v1/payments/terminal/readers", headers=bare.headers)
    assert listed.status_code == 403  # listing readers is for staff signed in
    ipad = await till(app, tenant)
    listed = await client.get("/api/v1/payments/terminal/readers", headers=ipad.headers)
    assert [r["id"] for r in listed.json()] == [reader_id]
    # The back office has no location of its own: it asks for a token in vain.
    office = await client.post("/api/v1/payments/terminal/connection-token", headers=tenant.headers)
    assert_problem(office, 409, "terminal.location_not_set_up")
    # Another restaurant neither sees the reader nor sends payments to it.
    theirs = await client.get("/api/v1/payments/terminal/readers", headers=other_tenant.headers)
    assert theirs.json() == []
    other_till = await till(app, other_tenant)
    order_id = await make_order(other_tenant, seq=1, lines=PIZZA)
    payment = await start(client, other_till, order_id)
    stolen = await collect(client, other_till, payment["id"], reader_id)
    assert_problem(stolen, 400, "validation_failed")
    assert stolen.json()["field"] == "reader_id"
    bad = await client.post(
        "/api/v1/payments/terminal/readers",
        json={"location_id": str(tenant.location_id), "registration_code": "nope", "label": "X"},
        headers=tenant.headers,
    )
    assert_problem(bad, 400, "validation_failed")
    assert bad.json()["field"] == "registration_code"


async def test_a_registration_code_that_is_not_ascii_is_refused_not_sent(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """Found by the stateful fuzzer: the code is part of the Idempotency-Key header sent to
    Stripe, where a non-ASCII one failed to encode and was answered 503 as Stripe's fault."""
    await set_up_terminal(client, tenant)
    odd = await client.post(
        "/api/v1/payments/terminal/readers",
        json={"location_id": str(tenant.location_id), "registration_code": "café", "label": "X"},
        headers=tenant.headers,
    )
    assert_problem(odd, 400, "validation_failed")
    assert odd.json()["field"] == "registration_code"


async def test_an_address_in_a_country_with_states_needs_its_state(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """Found by the link scenarios: the body had no ``state`` at all, so a restaurant in the
    US, Canada, Australia, Spain or Italy could not set up Terminal (Stripe refused it)."""
    url = f"/api/v1/payments/terminal/locations/{tenant.location_id}"
    us = {"line1": "1 Main St", "city": "Austin", "postal_code": "78701", "country": "US"}
    missing = await client.put(url, json=us, headers=tenant.headers)
    assert_problem(missing, 400, "validation_failed")
    assert missing.json()["field"] == "state"
    made = await client.put(url, json={**us, "state": "TX"}, headers=tenant.headers)
    assert made.status_code == 200, made.text
