"""Cash at the till: tendered and change, split bills, tips apart, idempotency and refunds."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import httpx
import pytest
from litestar import Litestar

from server.auth.tables import Role
from server.payments.gateway import Gateway
from tests.factories import Tenant, make_employee, make_ipad, make_order, sign_in
from tests.integration.payments.api import cash, keyed, order_payments, pay, refund
from tests.problems import assert_problem

pytestmark = pytest.mark.usefixtures("cash_only")

# make_order's default: one tea at 300p.
TEA = 300


async def test_cash_pays_the_order_and_gives_change(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    order_id = await make_order(tenant, seq=1)
    response = await cash(client, tenant.headers, order_id, TEA, tendered=500)
    assert response.status_code == 201, response.text
    payment = response.json()
    assert payment["state"] == "succeeded"
    assert (payment["charged"], payment["tendered"], payment["change"]) == (300, 500, 200)
    assert payment["open_drawer"] is True
    assert payment["fees"] == {
        "schedule": "2026-11-plan",
        "estimated_provider_fee": 0,
        "platform_fee": 0,
        "provider_fee": None,
    }
    summary = await order_payments(client, tenant.headers, order_id)
    assert (summary["order_status"], summary["paid"], summary["remaining"]) == ("paid", 300, 0)


async def test_a_split_bill_is_paid_only_when_covered(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    order_id = await make_order(tenant, seq=1, lines=[("Pizza", 1000, 3, 2000)])
    first = await cash(client, tenant.headers, order_id, 1000)
    assert first.status_code == 201
    summary = await order_payments(client, tenant.headers, order_id)
    assert (summary["order_status"], summary["paid"], summary["remaining"]) == ("open", 1000, 2000)

    too_much = await cash(client, tenant.headers, order_id, 2001)
    body = assert_problem(too_much, 409, "payment.exceeds_remaining", "amount")
    assert body["remaining"] == 2000

    for amount in (1000, 1000):
        assert (await cash(client, tenant.headers, order_id, amount)).status_code == 201
    summary = await order_payments(client, tenant.headers, order_id)
    assert (summary["order_status"], summary["paid"], summary["remaining"]) == ("paid", 3000, 0)
    assert len(summary["payments"]) == 3

    after = await cash(client, tenant.headers, order_id, 1)
    assert_problem(after, 409, "payment.order_not_payable", "order_id")


async def test_tips_are_kept_apart_from_the_sale(client: httpx.AsyncClient, tenant: Tenant) -> None:
    order_id = await make_order(tenant, seq=1)
    response = await cash(client, tenant.headers, order_id, TEA, tip=50, tendered=400)
    payment = response.json()
    assert (payment["amount"], payment["tip"], payment["charged"], payment["change"]) == (
        300,
        50,
        350,
        50,
    )
    summary = await order_payments(client, tenant.headers, order_id)
    assert (summary["paid"], summary["tips"], summary["order_status"]) == (300, 50, "paid")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"method": "cash", "amount": 300}, "tendered"),
        ({"method": "cash", "amount": 300, "tendered": 299}, "tendered"),
        ({"method": "cash", "amount": 300, "tip": 10, "tendered": 300}, "tendered"),
        ({"method": "card", "amount": 300, "tendered": 300}, "tendered"),
        ({"method": "apple_pay", "amount": 300}, "wallet_token"),
        ({"method": "cash", "amount": 0, "tendered": 300}, "amount"),
        ({"method": "cash", "amount": "3.00", "tendered": 300}, "amount"),
    ],
)
async def test_bad_payments_name_the_field(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, object], field: str
) -> None:
    order_id = await make_order(tenant, seq=1)
    response = await pay(client, tenant.headers, order_id, **body)
    assert_problem(response, 400, "validation_failed", field)
    assert (await order_payments(client, tenant.headers, order_id))["payments"] == []


async def test_an_unknown_order_is_a_field_error(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await cash(client, tenant.headers, uuid4(), TEA)
    assert_problem(response, 400, "validation_failed", "order_id")


async def test_the_same_key_replays_the_same_answer(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    order_id = await make_order(tenant, seq=1, lines=[("Pizza", 1000, 1, 2000)])
    key = str(uuid4())
    first = await cash(client, tenant.headers, order_id, 400, key=key)
    again = await cash(client, tenant.headers, order_id, 400, key=key)
    assert first.status_code == again.status_code == 201
    assert first.content == again.content
    assert len((await order_payments(client, tenant.headers, order_id))["payments"]) == 1

    other_body = await cash(client, tenant.headers, order_id, 401, key=key)
    assert_problem(other_body, 409, "idempotency.key_reused", "Idempotency-Key")


async def test_concurrent_requests_with_one_key_make_one_payment(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    order_id = await make_order(tenant, seq=1, lines=[("Pizza", 1000, 1, 2000)])
    key = str(uuid4())
    answers = await asyncio.gather(
        *(cash(client, tenant.headers, order_id, 400, key=key) for _ in range(8))
    )
    statuses = sorted(a.status_code for a in answers)
    assert set(statuses) <= {201, 409}, statuses
    winners = [a for a in answers if a.status_code == 201]
    assert winners and all(a.content == winners[0].content for a in winners)
    for loser in (a for a in answers if a.status_code == 409):
        assert_problem(loser, 409, "idempotency.in_progress", "Idempotency-Key")
        assert loser.headers["retry-after"] == "1"
    assert len((await order_payments(client, tenant.headers, order_id))["payments"]) == 1


async def test_a_key_is_required_and_checked(client: httpx.AsyncClient, tenant: Tenant) -> None:
    order_id = await make_order(tenant, seq=1)
    body = {"order_id": str(order_id), "method": "cash", "amount": TEA, "tendered": TEA}
    missing = await client.post("/api/v1/payments", json=body, headers=tenant.headers)
    assert_problem(missing, 400, "validation_failed", "Idempotency-Key")
    too_long = await client.post(
        "/api/v1/payments", json=body, headers=keyed(tenant.headers, "k" * 256)
    )
    assert_problem(too_long, 400, "validation_failed", "Idempotency-Key")


async def test_keys_are_per_restaurant(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    key = str(uuid4())
    mine = await cash(client, tenant.headers, await make_order(tenant, seq=1), TEA, key=key)
    theirs = await cash(
        client, other_tenant.headers, await make_order(other_tenant, seq=1), TEA, key=key
    )
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]


async def test_refunds_partial_then_the_rest_then_nothing(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    order_id = await make_order(tenant, seq=1)
    payment = (await cash(client, tenant.headers, order_id, TEA, tip=20)).json()
    partial = await refund(client, tenant.headers, payment["id"], amount=100)
    assert partial.status_code == 201, partial.text
    assert (partial.json()["state"], partial.json()["amount"]) == ("succeeded", 100)
    rest = await refund(client, tenant.headers, payment["id"])
    assert rest.json()["amount"] == 220  # what is left of the 320 charged
    nothing = await refund(client, tenant.headers, payment["id"], amount=1)
    body = assert_problem(nothing, 409, "refund.exceeds_captured", "amount")
    assert body["refundable"] == 0
    listed = await client.get(f"/api/v1/payments/{payment['id']}/refunds", headers=tenant.headers)
    assert [r["amount"] for r in listed.json()] == [100, 220]
    read = await client.get(f"/api/v1/payments/{payment['id']}", headers=tenant.headers)
    assert read.json()["refunded"] == 320
    # A refunded order stays paid: the refund is its own record, as on a till roll.
    assert (await order_payments(client, tenant.headers, order_id))["order_status"] == "paid"


async def test_fifty_concurrent_refunds_never_pass_what_was_captured(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    order_id = await make_order(tenant, seq=1)
    payment = (await cash(client, tenant.headers, order_id, TEA)).json()
    answers = await asyncio.gather(
        *(refund(client, tenant.headers, payment["id"], amount=7) for _ in range(50))
    )
    done = [a for a in answers if a.status_code == 201]
    refused = [a for a in answers if a.status_code != 201]
    assert len(done) == TEA // 7  # 42 refunds of 7p fit in 300p; the other 8 are refused
    for answer in refused:
        assert_problem(answer, 409, "refund.exceeds_captured", "amount")
    read = await client.get(f"/api/v1/payments/{payment['id']}", headers=tenant.headers)
    assert read.json()["refunded"] == 7 * len(done) <= TEA


async def test_a_refund_key_replays(client: httpx.AsyncClient, tenant: Tenant) -> None:
    payment = (await cash(client, tenant.headers, await make_order(tenant, seq=1), TEA)).json()
    key = str(uuid4())
    first = await refund(client, tenant.headers, payment["id"], amount=50, key=key)
    again = await refund(client, tenant.headers, payment["id"], amount=50, key=key)
    assert first.content == again.content
    read = await client.get(f"/api/v1/payments/{payment['id']}", headers=tenant.headers)
    assert read.json()["refunded"] == 50


async def test_refunds_need_a_manager(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    cashier = await sign_in(
        app, await make_ipad(app, tenant), await make_employee(tenant, role=Role.cashier)
    )
    payment = (await cash(client, cashier.headers, await make_order(tenant, seq=1), TEA)).json()
    alone = await refund(client, cashier.headers, payment["id"], amount=10)
    assert assert_problem(alone, 403, "forbidden")["needs_approval"] is True
    manager = await sign_in(
        app,
        await make_ipad(app, tenant, name="Till 2"),
        await make_employee(tenant, role=Role.manager),
    )
    assert (await refund(client, manager.headers, payment["id"], amount=10)).status_code == 201


async def test_another_restaurants_payment_is_missing(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    payment = (await cash(client, tenant.headers, await make_order(tenant, seq=1), TEA)).json()
    theirs = await client.get(f"/api/v1/payments/{payment['id']}", headers=other_tenant.headers)
    missing = await client.get(f"/api/v1/payments/{uuid4()}", headers=other_tenant.headers)
    assert_problem(theirs, 404, "not_found")
    assert theirs.json()["detail"] == missing.json()["detail"]
    refused = await refund(client, other_tenant.headers, payment["id"], amount=10)
    assert_problem(refused, 404, "not_found")


async def test_a_bare_ipad_cannot_take_payment(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, cash_only: Gateway
) -> None:
    ipad = await make_ipad(app, tenant)
    response = await cash(client, ipad.headers, await make_order(tenant, seq=1), TEA)
    assert_problem(response, 403, "forbidden")
