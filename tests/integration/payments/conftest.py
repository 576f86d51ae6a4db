"""Payments tests: providers installed per test, and the money invariants after every test.

The invariants are checked over every payment in the database, not just the test's own:
- refunds pending or done on a payment never add up to more than it charged;
- only succeeded payments have refunds;
- an order the server marked paid is covered by its succeeded payments;
- a succeeded payment carries the provider's reference and when it succeeded.
Per-provider tests also compare the ledger with the money the fake provider holds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from litestar import Litestar

from server.db.engine import DB
from server.payments import gateway, ledger
from server.payments.gateway import Gateway
from server.payments.providers.base import Provider
from server.payments.providers.cash import CashProvider
from tests.fakes.open_banking import OpenBankingSandbox, open_banking_sandbox  # noqa: F401
from tests.fakes.stripe import StripeFake, stripe_fake  # noqa: F401


def install(providers: dict[str, Provider], *, threshold: int = 5) -> Gateway:
    installed = Gateway(
        {"cash": CashProvider(), **providers}, failure_threshold=threshold, reset_seconds=30
    )
    gateway.install(installed)
    return installed


@pytest.fixture
def cash_only() -> Iterator[Gateway]:
    yield install({})
    gateway.install(None)


@pytest.fixture
def with_stripe(stripe_fake: StripeFake) -> Iterator[Gateway]:  # noqa: F811
    """Cash and Stripe (card, Apple Pay) against the fake; webhooks read from the fake."""
    yield install({"stripe": stripe_fake.provider(timeout_seconds=2.0)})
    gateway.install(None)


@pytest.fixture
def with_bank(
    stripe_fake: StripeFake,  # noqa: F811
    open_banking_sandbox: OpenBankingSandbox,  # noqa: F811
) -> Iterator[Gateway]:
    """Every method: pay-by-bank against the sandbox and Stripe against the fake."""
    yield install(
        {
            "stripe": stripe_fake.provider(timeout_seconds=2.0),
            "open_banking": open_banking_sandbox.provider(),
        }
    )
    gateway.install(None)


@pytest_asyncio.fixture(autouse=True)
async def money_invariants(app: Litestar) -> AsyncIterator[None]:
    yield
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        over_refunded = await conn.fetch(
            "SELECT p.id, p.charged, sum(r.amount) AS refunds FROM payments p"
            " JOIN refunds r ON r.payment_id = p.id AND r.state IN ('pending', 'succeeded')"
            " GROUP BY p.id HAVING sum(r.amount) > p.charged"
        )
        refunded_unpaid = await conn.fetch(
            "SELECT DISTINCT p.id, p.state FROM payments p JOIN refunds r ON r.payment_id = p.id"
            " WHERE p.state <> 'succeeded'"
        )
        paid_uncovered = await conn.fetch(
            "SELECT o.id, o.total_due, coalesce(sum(p.amount), 0) AS paid FROM orders o"
            f" LEFT JOIN payments p ON p.order_id = o.id AND {ledger.COVERS}"
            " WHERE o.status = 'paid' AND EXISTS (SELECT 1 FROM payments q WHERE q.order_id = o.id)"
            # An iPad may close an order itself (its cash may be quarantined): only the
            # server's own settling is held to this rule.
            " AND NOT EXISTS (SELECT 1 FROM sync_entities e WHERE e.entity_type = 'order'"
            " AND e.entity_id = o.id AND e.data->>'status' = 'paid'"
            " AND NOT e.field_hlcs->>'status' LIKE '%:server')"
            " GROUP BY o.id HAVING coalesce(sum(p.amount), 0) < o.total_due"
        )
        unreferenced = await conn.fetch(
            "SELECT id FROM payments WHERE state = 'succeeded'"
            " AND (provider_reference IS NULL OR succeeded_at IS NULL)"
        )
    assert over_refunded == [], f"refunds above what was charged: {over_refunded}"
    assert refunded_unpaid == [], f"refunds on payments that did not succeed: {refunded_unpaid}"
    assert paid_uncovered == [], f"orders paid without payments covering them: {paid_uncovered}"
    assert unreferenced == [], f"succeeded payments the provider cannot trace: {unreferenced}"
