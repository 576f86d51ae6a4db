"""The attention list holds every payment still waiting past its deadline, whatever its
method, once the poller has had its chance (``past_expiry``); acknowledging one stops
waiting for it and frees its amount on the order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest

from server.db.engine import DB
from server.payments.reconcile import STUCK_AFTER
from tests.factories import Tenant, make_order
from tests.fakes.open_banking import OpenBankingSandbox
from tests.integration.payments.api import order_payments, pay
from tests.integration.payments.test_bank_settlement import (
    acknowledge,
    deliver,
    listed,
    payment_of,
    started,
)
from tests.problems import assert_problem

pytestmark = pytest.mark.usefixtures("with_bank")
PIZZA = [("Pizza", 2500, 1, 2000)]


async def past_deadline(payment_id: str, by: timedelta) -> datetime:
    """Move the payment's deadline ``by`` into the past; answers the new deadline."""
    assert DB.pool is not None
    deadline: datetime = await DB.pool.fetchval(
        "UPDATE payments SET expires_at = now() - $2::interval WHERE id = $1 RETURNING expires_at",
        UUID(payment_id),
        by,
    )
    return deadline


async def waiting(client: httpx.AsyncClient, tenant: Tenant, seq: int, **body: Any) -> str:
    order_id = await make_order(tenant, seq=seq, lines=PIZZA)
    made = await pay(client, tenant.headers, order_id, amount=2500, **body)
    assert made.status_code == 201, made.text
    assert made.json()["state"] in ("created", "awaiting_customer"), made.text
    return str(made.json()["id"])


async def test_a_payment_of_any_method_still_waiting_past_its_deadline_is_listed(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    card = await waiting(client, tenant, 1, method="card")
    qr = await waiting(client, tenant, 2, method="open_banking")
    assert await listed(client, tenant) == []  # waiting, but within their time

    card_deadline = await past_deadline(card, STUCK_AFTER + timedelta(minutes=1))
    await past_deadline(qr, STUCK_AFTER - timedelta(minutes=1))  # the poller's turn still
    [item] = await listed(client, tenant)
    assert (item["payment_id"], item["method"], item["why"]) == (card, "card", "past_expiry")
    assert (item["amount"], item["remedies"]) == (2500, ["acknowledge"])
    assert datetime.fromisoformat(item["since"]) == card_deadline.astimezone(UTC)

    await past_deadline(qr, STUCK_AFTER + timedelta(minutes=1))
    assert {i["payment_id"]: i["why"] for i in await listed(client, tenant)} == {
        card: "past_expiry",
        qr: "past_expiry",
    }
    assert await listed(client, other_tenant) == []
    for payment_id in (card, qr):  # ended, so no later test's sweep finds them waiting
        assert (await acknowledge(client, tenant, payment_id)).status_code == 200


async def test_an_authorised_bank_payment_waits_for_not_executing_instead(
    client: httpx.AsyncClient, tenant: Tenant, open_banking_sandbox: OpenBankingSandbox
) -> None:
    payment, _, reference = await started(client, tenant)
    await open_banking_sandbox.approve(reference, until="authorized")
    await deliver(client, open_banking_sandbox, reference, "payment_authorized")
    assert (await payment_of(client, tenant, payment["id"]))["state"] == "authorizing"
    await past_deadline(payment["id"], STUCK_AFTER + timedelta(minutes=1))
    # Its bank has it: the QR's time no longer matters, only how long it has not executed.
    assert await listed(client, tenant) == []
    # It executes: paid, and ended, so no later test's sweep asks the bank about it.
    await open_banking_sandbox.execute(reference, hold=True)
    await deliver(client, open_banking_sandbox, reference, "payment_executed")
    assert (await payment_of(client, tenant, payment["id"]))["state"] == "succeeded"
    assert await listed(client, tenant) == []


async def test_acknowledging_a_payment_past_its_deadline_stops_waiting_for_it(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    card = await waiting(client, tenant, 1, method="card")
    order_id = UUID((await payment_of(client, tenant, card))["order_id"])
    assert (await order_payments(client, tenant.headers, order_id))["remaining"] == 0
    await past_deadline(card, STUCK_AFTER + timedelta(minutes=1))

    answer = await acknowledge(client, tenant, card)
    assert answer.status_code == 200, answer.text
    assert answer.json()["why"] == "past_expiry"
    got = await payment_of(client, tenant, card)
    assert (got["state"], got["failure_reason"]) == ("canceled", "stopped_waiting")
    assert (await order_payments(client, tenant.headers, order_id))["remaining"] == 2500
    assert await listed(client, tenant) == []
    assert_problem(await acknowledge(client, tenant, card), 409, "payment.nothing_to_acknowledge")
