"""Pay by bank after the payer approves, as TrueLayer runs it: executed, then settled (or
stalled, or reversed); refunds only from settled money; and late or stuck outcomes on the
manager's attention list with the one action that settles each.

The bank's webhooks are delivered by hand (``deliver``), so each test decides what the
server has heard, and when.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from litestar import Litestar

from server.auth.tables import Role
from server.db.engine import DB
from server.payments import poller
from tests.factories import Tenant, make_ipad, make_order, sign_in, staff_member
from tests.fakes.open_banking import MERCHANT_ACCOUNT_ID, OpenBankingSandbox
from tests.integration.payments.api import (
    bank_reference,
    cash,
    keyed,
    order_payments,
    pay,
    payer_starts,
    refund,
)
from tests.integration.payments.conftest import install
from tests.integration.payments.test_offline_cash import cash_fields
from tests.integration.sync.test_push_rules import (
    change,
    line_fields,
    order_fields,
    prefix_of,
    push,
)
from tests.problems import assert_problem

pytestmark = pytest.mark.usefixtures("with_bank")
PIZZA = [("Pizza", 2500, 1, 2000)]
WEBHOOK = "/api/v1/payments/webhooks/open-banking"


async def started(client: httpx.AsyncClient, tenant: Tenant) -> tuple[dict[str, Any], UUID, str]:
    """A bank payment for a £25 order whose payer has given their details."""
    order_id = await make_order(tenant, seq=1, lines=PIZZA)
    made = await pay(client, tenant.headers, order_id, method="open_banking", amount=2500)
    assert made.status_code == 201, made.text
    payment = made.json()
    assert (await payer_starts(client, payment)).status_code == 303
    return payment, order_id, await bank_reference(payment["id"])


async def deliver(
    client: httpx.AsyncClient, sandbox: OpenBankingSandbox, reference: str, kind: str
) -> None:
    """Deliver the sandbox's signed webhooks of ``kind`` about ``reference`` to the server."""
    sent = 0
    for hook in await sandbox.webhooks(kind):
        if reference not in hook["body"]:
            continue
        answer = await client.post(WEBHOOK, content=hook["body"], headers=hook["headers"])
        assert answer.status_code == 200, answer.text
        sent += 1
    assert sent, f"no {kind} webhook for {reference}"


async def payment_of(client: httpx.AsyncClient, tenant: Tenant, payment_id: str) -> Any:
    return (await client.get(f"/api/v1/payments/{payment_id}", headers=tenant.headers)).json()


async def settlement_of(payment_id: str) -> str | None:
    assert DB.pool is not None
    found: str | None = await DB.pool.fetchval(
        "SELECT settlement FROM payments WHERE id = $1", UUID(payment_id)
    )
    return found


async def listed(client: httpx.AsyncClient, tenant: Tenant) -> list[dict[str, Any]]:
    answer = await client.get("/api/v1/payments/attention", headers=tenant.headers)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()
    return items


async def acknowledge(client: httpx.AsyncClient, tenant: Tenant, payment_id: str) -> Any:
    return await client.post(
        f"/api/v1/payments/{payment_id}/acknowledge",
        json={"note": "checked with the customer"},
        headers=keyed(tenant.headers),
    )


async def test_an_executed_payment_pays_the_order_and_settles_later(
    client: httpx.AsyncClient, tenant: Tenant, open_banking_sandbox: OpenBankingSandbox
) -> None:
    payment, order_id, reference = await started(client, tenant)
    await open_banking_sandbox.approve(reference, until="executed")
    await deliver(client, open_banking_sandbox, reference, "payment_executed")
    # Executed: the order is paid (the diner leaves); the money is not in our account yet.
    summary = await order_payments(client, tenant.headers, order_id)
    assert (summary["order_status"], summary["paid"]) == ("paid", 2500)
    assert await settlement_of(payment["id"]) == "executed"
    await open_banking_sandbox.settle(reference)
    await deliver(client, open_banking_sandbox, reference, "payment_settled")
    assert await settlement_of(payment["id"]) == "settled"
    assert await listed(client, tenant) == []


async def test_a_refund_waits_pending_until_the_money_settles(
    client: httpx.AsyncClient, tenant: Tenant, open_banking_sandbox: OpenBankingSandbox
) -> None:
    payment, _, reference = await started(client, tenant)
    await open_banking_sandbox.approve(reference, until="executed")
    await deliver(client, open_banking_sandbox, reference, "payment_executed")
    made = await refund(client, tenant.headers, payment["id"], amount=1000)
    assert made.status_code == 201, made.text
    assert made.json()["state"] == "pending"  # queued, not failed
    assert (await open_banking_sandbox.stats())["refunds"] == 0  # nothing asked of the bank
    await poller.sweep()
    assert (await open_banking_sandbox.stats())["refunds"] == 0  # still not settled
    await open_banking_sandbox.settle(reference)
    await deliver(client, open_banking_sandbox, reference, "payment_settled")
    await poller.sweep()
    assert (await open_banking_sandbox.stats())["refunds"] == 1


async def test_stalled_money_is_listed_and_settling_later_clears_it(
    client: httpx.AsyncClient, tenant: Tenant, open_banking_sandbox: OpenBankingSandbox
) -> None:
    payment, order_id, reference = await started(client, tenant)
    await open_banking_sandbox.approve(reference, until="executed")
    await deliver(client, open_banking_sandbox, reference, "payment_executed")
    await open_banking_sandbox.stall(reference)
    await deliver(client, open_banking_sandbox, reference, "payment_settlement_stalled")
    [item] = await listed(client, tenant)
    assert (item["payment_id"], item["why"], item["remedies"]) == (
        payment["id"],
        "settlement_stalled",
        ["acknowledge"],
    )
    # The order stays paid meanwhile: TrueLayer is checking the payment, not returning it.
    assert (await order_payments(client, tenant.headers, order_id))["order_status"] == "paid"
    await open_banking_sandbox.settle(reference)
    await deliver(client, open_banking_sandbox, reference, "payment_settled")
    assert await settlement_of(payment["id"]) == "settled"
    assert await listed(client, tenant) == []


async def test_reversed_money_reopens_the_order_and_is_owed(
    client: httpx.AsyncClient, tenant: Tenant, open_banking_sandbox: OpenBankingSandbox
) -> None:
    payment, order_id, reference = await started(client, tenant)
    await open_banking_sandbox.approve(reference)
    await open_banking_sandbox.settle(reference)
    await deliver(client, open_banking_sandbox, reference, "payment_executed")
    await deliver(client, open_banking_sandbox, reference, "payment_settled")
    await open_banking_sandbox.reverse(reference)
    await deliver(client, open_banking_sandbox, reference, "payment_reversed")
    summary = await order_payments(client, tenant.headers, order_id)
    assert (summary["order_status"], summary["remaining"]) == ("sent", 2500), summary
    [item] = await listed(client, tenant)
    assert (item["why"], item["amount"]) == ("settlement_reversed", 2500)
    # The money went back to the payer: refunding it again would pay them twice.
    assert_problem(
        await refund(client, tenant.headers, payment["id"]), 409, "refund.not_refundable"
    )
    assert (await acknowledge(client, tenant, payment["id"])).status_code == 200
    assert await listed(client, tenant) == []


async def test_a_success_after_expiry_counts_and_tells_the_manager_it_was_paid_twice(
    client: httpx.AsyncClient, tenant: Tenant, open_banking_sandbox: OpenBankingSandbox
) -> None:
    payment, order_id, reference = await started(client, tenant)
    assert DB.pool is not None
    await DB.pool.execute(
        "UPDATE payments SET state = 'expired', failure_reason = 'expired' WHERE id = $1",
        UUID(payment["id"]),
    )
    # The till took cash instead; then the bank's money arrives after all.
    assert (await cash(client, tenant.headers, order_id, 2500)).status_code == 201
    await open_banking_sandbox.approve(reference, until="executed")
    await deliver(client, open_banking_sandbox, reference, "payment_executed")
    got = await payment_of(client, tenant, payment["id"])
    assert got["state"] == "succeeded"
    [item] = await listed(client, tenant)
    assert (item["why"], item["overpaid"], item["remedies"]) == (
        "late_success",
        2500,
        ["refund", "acknowledge"],
    )
    # The remedy is one call away: refund the bank payment (once its money settles).
    await open_banking_sandbox.settle(reference)
    await deliver(client, open_banking_sandbox, reference, "payment_settled")
    assert (await refund(client, tenant.headers, payment["id"])).status_code == 201
    assert (await acknowledge(client, tenant, payment["id"])).status_code == 200
    assert await listed(client, tenant) == []
    again = await acknowledge(client, tenant, payment["id"])
    assert_problem(again, 409, "payment.nothing_to_acknowledge")


async def test_an_authorised_payment_that_never_executes_can_be_given_up(
    client: httpx.AsyncClient, tenant: Tenant, open_banking_sandbox: OpenBankingSandbox
) -> None:
    payment, order_id, reference = await started(client, tenant)
    await open_banking_sandbox.approve(reference, until="authorized")
    await deliver(client, open_banking_sandbox, reference, "payment_authorized")
    summary = await order_payments(client, tenant.headers, order_id)
    assert summary["remaining"] == 0  # the authorised amount still blocks the order
    assert DB.pool is not None
    await DB.pool.execute(
        "UPDATE payments SET authorizing_at = authorizing_at - $2::interval,"
        " updated_at = updated_at - $2::interval WHERE id = $1",
        UUID(payment["id"]),
        timedelta(minutes=30),
    )
    report = await poller.sweep()
    assert report.flagged == 1
    assert (await poller.sweep()).flagged == 0  # told once
    [item] = await listed(client, tenant)
    assert item["why"] == "not_executing"
    answer = await acknowledge(client, tenant, payment["id"])
    assert answer.status_code == 200, answer.text
    got = await payment_of(client, tenant, payment["id"])
    assert (got["state"], got["failure_reason"]) == ("canceled", "stopped_waiting")
    assert (await order_payments(client, tenant.headers, order_id))["remaining"] == 2500


async def test_a_payer_who_cancels_at_the_bank_gets_the_fallback(
    client: httpx.AsyncClient, tenant: Tenant, open_banking_sandbox: OpenBankingSandbox
) -> None:
    payment, _, reference = await started(client, tenant)
    await open_banking_sandbox.payer_cancel(reference)
    await deliver(client, open_banking_sandbox, reference, "payment_failed")
    got = await payment_of(client, tenant, payment["id"])
    # Not a staff cancel: the till offers the other methods at once.
    assert got["state"] == "failed", got
    assert got["fallback"][:2] == ["card", "apple_pay"]


async def test_only_an_owner_sets_where_the_restaurant_is_paid(
    app: Litestar,
    client: httpx.AsyncClient,
    tenant: Tenant,
    open_banking_sandbox: OpenBankingSandbox,
) -> None:
    # The platform's own GBP account is one the sandbox does not know: a payment made into
    # it would be refused, so a payment that starts went into the restaurant's account.
    install({"open_banking": open_banking_sandbox.provider(merchant_accounts={"GBP": "nope"})})
    office = await make_ipad(app, tenant, name="Office")
    manager = await sign_in(app, office, await staff_member(tenant, Role.manager))
    path = "/api/v1/payments/merchant-accounts/GBP"
    body = {"merchant_account_id": MERCHANT_ACCOUNT_ID}
    refused = await client.put(path, json=body, headers=keyed(manager.headers))
    assert_problem(refused, 403, "forbidden")
    own = await client.put(path, json=body, headers=keyed(tenant.headers))
    assert own.status_code == 200, own.text
    accounts = await client.get("/api/v1/payments/merchant-accounts", headers=tenant.headers)
    assert [(a["currency"], a["merchant_account_id"]) for a in accounts.json()] == [
        ("GBP", MERCHANT_ACCOUNT_ID)
    ]
    _, _, reference = await started(client, tenant)
    at_bank = await open_banking_sandbox.control("GET", f"/_sandbox/payments/{reference}")
    assert at_bank["payment_method"]["beneficiary"]["merchant_account_id"] == MERCHANT_ACCOUNT_ID


async def test_bank_money_arriving_after_the_till_took_cash_is_listed_as_paid_twice(
    app: Litestar,
    client: httpx.AsyncClient,
    tenant: Tenant,
    open_banking_sandbox: OpenBankingSandbox,
) -> None:
    ipad = await make_ipad(app, tenant, signed_in=Role.manager)
    prefix = await prefix_of(ipad)
    order_id = uuid4()
    opened = [
        change(ipad, 1, "order", order_id, order_fields(prefix, 1)),
        change(ipad, 2, "order_line", uuid4(), line_fields(order_id)),
    ]
    assert (await push(client, ipad, opened)).status_code == 200
    made = await pay(client, tenant.headers, order_id, method="open_banking", amount=320)
    payment = made.json()
    assert (await payer_starts(client, payment)).status_code == 303
    reference = await bank_reference(payment["id"])
    # The network dropped; the diner paid cash on the iPad, which syncs it later.
    cash_taken = change(ipad, 3, "cash_payment", uuid4(), cash_fields(320, order_id=str(order_id)))
    assert (await push(client, ipad, [cash_taken])).status_code == 200
    await open_banking_sandbox.approve(reference, until="executed")
    await deliver(client, open_banking_sandbox, reference, "payment_executed")
    [item] = await listed(client, tenant)
    assert (item["payment_id"], item["why"], item["overpaid"]) == (payment["id"], "paid_twice", 320)
    assert item["remedies"] == ["refund", "acknowledge"]
