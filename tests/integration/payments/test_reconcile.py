"""`fynlo reconcile`: our ledger against the providers' own books, to the penny, both ways."""

from __future__ import annotations

import asyncio
import json
import subprocess
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import httpx
import pytest

from server.db.engine import DB
from server.payments.providers.base import NewPayment
from server.payments.reconcile import reconcile
from server.settings import Settings
from tests.e2e.processes import FYNLO, fynlo_env
from tests.factories import Tenant, make_order
from tests.fakes.open_banking import OpenBankingSandbox
from tests.fakes.stripe import StripeFake
from tests.integration.payments.api import cash, pay, payer_starts, refund
from tests.problems import assert_problem

pytestmark = pytest.mark.usefixtures("with_bank")
PIZZA = [("Pizza", 2500, 1, 2000)]


def window() -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - timedelta(hours=1), now + timedelta(hours=1)


async def reference_of(payment_id: str) -> str:
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        reference: str = await conn.fetchval(
            "SELECT provider_reference FROM payments WHERE id = $1", UUID(payment_id)
        )
    return reference


async def a_day_of_trade(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: OpenBankingSandbox
) -> None:
    card = (
        await pay(
            client,
            tenant.headers,
            await make_order(tenant, seq=1, lines=PIZZA),
            method="card",
            amount=2500,
            payment_method="pm_card_visa",
        )
    ).json()
    await refund(client, tenant.headers, card["id"], amount=700)
    bank = (
        await pay(
            client,
            tenant.headers,
            await make_order(tenant, seq=2, lines=PIZZA),
            method="open_banking",
            amount=2500,
        )
    ).json()
    assert (await payer_starts(client, bank)).status_code == 303
    await sandbox.approve(await reference_of(bank["id"]), until="executed")
    await sandbox.settle(await reference_of(bank["id"]))
    for body, headers in [
        (w["body"], w["headers"])
        for kind in ("payment_executed", "payment_settled")
        for w in await sandbox.webhooks(kind)
    ]:
        answer = await client.post(
            "/api/v1/payments/webhooks/open-banking", content=body.encode(), headers=headers
        )
        assert answer.status_code == 200, answer.text
    await cash(client, tenant.headers, await make_order(tenant, seq=3), 300)


async def test_a_normal_day_balances_to_the_penny(
    client: httpx.AsyncClient,
    tenant: Tenant,
    stripe_fake: StripeFake,
    open_banking_sandbox: OpenBankingSandbox,
) -> None:
    await a_day_of_trade(client, tenant, open_banking_sandbox)
    await stripe_fake.release_balance_transactions()  # Stripe books async captures later
    since, until = window()
    report = await reconcile(since, until, restaurant_id=tenant.restaurant_id)
    assert report.findings == []
    assert DB.pool is not None
    assert report.ours_net == report.theirs_net == {"stripe": 1800, "open_banking": 2500}
    assert report.balanced
    assert report.fees_recorded >= 1  # Stripe's fee, learnt from its own books


async def test_money_the_provider_took_that_we_do_not_know_is_found(
    client: httpx.AsyncClient,
    tenant: Tenant,
    stripe_fake: StripeFake,
    open_banking_sandbox: OpenBankingSandbox,
) -> None:
    await a_day_of_trade(client, tenant, open_banking_sandbox)
    stranger = await stripe_fake.provider().create(
        NewPayment(payment_id=uuid4(), amount=999, currency="GBP", reference="not ours")
    )
    await stripe_fake.provider().confirm(stranger.reference, "pm_card_visa")
    await stripe_fake.release_balance_transactions()  # Stripe books async captures later
    report = await reconcile(*window(), restaurant_id=tenant.restaurant_id)
    assert [(f.kind, f.reference, f.theirs) for f in report.findings] == [
        ("unknown_at_fynlo", stranger.reference, 999)
    ]
    assert report.theirs_net["stripe"] - report.ours_net["stripe"] == 999
    assert not report.balanced


async def test_a_refund_the_provider_never_paid_out_is_found(
    client: httpx.AsyncClient,
    tenant: Tenant,
    stripe_fake: StripeFake,
    open_banking_sandbox: OpenBankingSandbox,
) -> None:
    await a_day_of_trade(client, tenant, open_banking_sandbox)
    await stripe_fake.release_balance_transactions()
    assert DB.pool is not None
    # Our one refund (the card's 700) names a refund Stripe never made.
    await DB.pool.execute("UPDATE refunds SET provider_reference = 're_nowhere'")
    report = await reconcile(*window(), restaurant_id=tenant.restaurant_id)
    ours = [(f.kind, f.reference, f.ours) for f in report.findings if f.kind.startswith("refund")]
    assert ours == [("refund_missing_at_provider", "re_nowhere", 700)], report.findings


async def test_a_success_after_a_cancel_and_an_overpaid_order_are_found(
    client: httpx.AsyncClient, tenant: Tenant, stripe_fake: StripeFake
) -> None:
    order_id = await make_order(tenant, seq=1, lines=PIZZA)
    waiting = (await pay(client, tenant.headers, order_id, method="card", amount=2500)).json()
    reference = await reference_of(waiting["id"])
    await stripe_fake.provider().confirm(reference, "pm_card_visa")  # the iPad charged it...
    await stripe_fake.release_balance_transactions()  # Stripe books async captures later
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:  # ...while our copy was canceled and its answer lost
        await conn.execute(
            "UPDATE payments SET state = 'canceled' WHERE id = $1", UUID(waiting["id"])
        )
    small = await make_order(tenant, seq=2)
    await cash(client, tenant.headers, small, 300)
    async with DB.pool.acquire() as conn:  # two iPads took cash for it while offline
        await conn.execute(
            "INSERT INTO payments (id, restaurant_id, location_id, order_id, method, provider,"
            " state, currency, amount, tendered, fee_schedule, estimated_provider_fee,"
            " platform_fee, provider_reference, source, succeeded_at) SELECT $1, restaurant_id,"
            " location_id, id, 'cash', 'cash', 'succeeded', currency, 300, 300, 'x', 0, 0,"
            " 'cash-twin', 'sync', now() FROM orders WHERE id = $2",
            uuid4(),
            small,
        )
    report = await reconcile(*window(), restaurant_id=tenant.restaurant_id)
    kinds = sorted((f.kind, f.payment_id) for f in report.findings)
    assert kinds == sorted([("state_mismatch", UUID(waiting["id"])), ("overpaid_order", None)]), (
        report.findings
    )


async def test_the_command_exits_1_and_says_why(
    client: httpx.AsyncClient,
    tenant: Tenant,
    settings: Settings,
    stripe_fake: StripeFake,
) -> None:
    stranger = await stripe_fake.provider().create(
        NewPayment(payment_id=uuid4(), amount=1234, currency="GBP", reference="not ours")
    )
    await stripe_fake.provider().confirm(stranger.reference, "pm_card_visa")
    await stripe_fake.release_balance_transactions()  # Stripe books async captures later
    since, until = window()
    env = fynlo_env(
        FYNLO_DATABASE_URL=settings.database_url or "",
        FYNLO_DATA_DIR=str(settings.data_dir),
        FYNLO_STRIPE_API_KEY=stripe_fake.api_key,
        FYNLO_STRIPE_API_BASE=stripe_fake.url,
    )
    result = await asyncio.to_thread(
        subprocess.run,
        [
            FYNLO,
            "reconcile",
            "--since",
            since.isoformat(),
            "--until",
            until.isoformat(),
            "--restaurant",
            str(tenant.restaurant_id),
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["balanced"] is False
    assert [(f["kind"], f["theirs"]) for f in report["findings"]] == [("unknown_at_fynlo", 1234)]


async def overpaid_order(client: httpx.AsyncClient, tenant: Tenant, seq: int) -> UUID:
    """An order paid 300 in cash twice (two iPads, offline): ``overpaid_order`` by 300."""
    order_id = await make_order(tenant, seq=seq)
    await cash(client, tenant.headers, order_id, 300)
    assert DB.pool is not None
    await DB.pool.execute(
        "INSERT INTO payments (id, restaurant_id, location_id, order_id, method, provider,"
        " state, currency, amount, tendered, fee_schedule, estimated_provider_fee,"
        " platform_fee, provider_reference, source, succeeded_at) SELECT $1, restaurant_id,"
        " location_id, id, 'cash', 'cash', 'succeeded', currency, 300, 300, 'x', 0, 0,"
        " $3, 'sync', now() FROM orders WHERE id = $2",
        uuid4(),
        order_id,
        f"cash-twin-{order_id}",
    )
    return order_id


async def latest(client: httpx.AsyncClient, tenant: Tenant) -> httpx.Response:
    return await client.get("/api/v1/payments/reconcile/latest", headers=tenant.headers)


async def test_the_latest_run_and_its_findings_are_kept_for_the_restaurants_managers(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, stripe_fake: StripeFake
) -> None:
    assert_problem(await latest(client, tenant), 404, "payment.no_reconcile_run")
    order_id = await overpaid_order(client, tenant, seq=1)
    stranger = await stripe_fake.provider().create(
        NewPayment(payment_id=uuid4(), amount=999, currency="GBP", reference="not ours")
    )
    await stripe_fake.provider().confirm(stranger.reference, "pm_card_visa")
    await stripe_fake.release_balance_transactions()
    since, until = window()
    await reconcile(since, until, restaurant_id=tenant.restaurant_id)

    answer = await latest(client, tenant)
    assert answer.status_code == 200, answer.text
    run = answer.json()
    assert (run["balanced"], run["currency"]) == (False, "GBP")
    assert datetime.fromisoformat(run["since"]) == since
    assert datetime.fromisoformat(run["until"]) == until
    assert datetime.now(UTC) - datetime.fromisoformat(run["at"]) < timedelta(minutes=1)
    found = {f["kind"]: f for f in run["findings"]}
    assert set(found) == {"overpaid_order", "unknown_at_fynlo", "net_mismatch"}, found
    overpaid = found["overpaid_order"]
    assert (overpaid["order_id"], overpaid["order_number"]) == (str(order_id), "T-0001")
    assert (overpaid["ours"], overpaid["theirs"], overpaid["payment_id"]) == (600, 300, None)
    unknown = found["unknown_at_fynlo"]
    assert (unknown["provider"], unknown["reference"], unknown["theirs"]) == (
        "stripe",
        stranger.reference,
        999,
    )
    net = found["net_mismatch"]
    assert (net["provider"], net["theirs"] - net["ours"]) == ("stripe", 999)
    # Another restaurant's run answers as if there were none.
    assert_problem(await latest(client, other_tenant), 404, "payment.no_reconcile_run")

    await reconcile(since, until, restaurant_id=other_tenant.restaurant_id)
    theirs = (await latest(client, other_tenant)).json()
    # The stranger's money is nobody's we know, so their run lists it too; our order is not.
    assert [f["kind"] for f in theirs["findings"]] == ["unknown_at_fynlo", "net_mismatch"]
    assert (await latest(client, tenant)).json()["findings"] == run["findings"]  # still ours


async def test_a_run_over_every_restaurant_shows_each_only_its_own_findings(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, cash_only: object
) -> None:
    mine = await overpaid_order(client, tenant, seq=1)
    report = await reconcile(*window())  # the nightly run: every restaurant at once
    assert DB.pool is not None
    try:
        assert any(f.order_id == mine for f in report.findings)
        run = (await latest(client, tenant)).json()
        assert [(f["kind"], f["order_id"]) for f in run["findings"]] == [
            ("overpaid_order", str(mine))
        ]
        clean = (await latest(client, other_tenant)).json()
        assert (clean["at"], clean["balanced"], clean["findings"]) == (run["at"], True, [])
    finally:  # later tests' restaurants must not see it as their latest run
        await DB.pool.execute("DELETE FROM reconcile_runs WHERE restaurant_id IS NULL")
