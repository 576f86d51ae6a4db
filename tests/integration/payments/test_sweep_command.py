"""``fynlo payments sweep`` ends payments whose answers were lost, as the poller does.

The command runs in its own process with the providers configured from ``FYNLO_*``
settings, pointed at this test's fakes, against the test database.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from server.db.engine import DB
from server.payments import gateway
from server.payments.gateway import Gateway
from server.settings import REPO_ROOT, Settings
from tests.factories import Tenant, make_order
from tests.fakes import losing_answers_after
from tests.fakes.open_banking import MERCHANT_ACCOUNT_ID, OpenBankingSandbox
from tests.fakes.stripe import StripeFake
from tests.integration.payments.api import order_payments, pay, payer_starts
from tests.integration.payments.conftest import install

TIMEOUT = 0.3
HELD = 0.8
COMMAND_SECONDS = 120
PIZZA = [("Pizza", 2500, 1, 2000)]


@pytest.fixture
def impatient(
    stripe_fake: StripeFake, open_banking_sandbox: OpenBankingSandbox
) -> Iterator[Gateway]:
    yield install(
        {
            "stripe": stripe_fake.provider(timeout_seconds=losing_answers_after(TIMEOUT)),
            "open_banking": open_banking_sandbox.provider(
                timeout_seconds=losing_answers_after(TIMEOUT)
            ),
        },
        threshold=10_000,
    )
    gateway.install(None)


def command_env(stripe: StripeFake, bank: OpenBankingSandbox, key_file: Path) -> dict[str, str]:
    """This process's environment (its database) with the providers pointed at the fakes."""
    settings = set(Settings.__struct_fields__)
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("FYNLO_")
        or name.removeprefix("FYNLO_").lower() in settings
        or name == "FYNLO_PG_BINDIR"
    }
    return inherited | {
        "FYNLO_STRIPE_API_KEY": stripe.api_key,
        "FYNLO_STRIPE_WEBHOOK_SECRET": stripe.secret,
        "FYNLO_STRIPE_API_BASE": stripe.url,
        "FYNLO_OPEN_BANKING_API_BASE": bank.url,
        "FYNLO_OPEN_BANKING_CLIENT_ID": bank.client_id,
        "FYNLO_OPEN_BANKING_CLIENT_SECRET": bank.client_secret,
        "FYNLO_OPEN_BANKING_SIGNING_KID": bank.client_kid,
        "FYNLO_OPEN_BANKING_SIGNING_KEY_FILE": str(key_file),
        "FYNLO_OPEN_BANKING_JWKS_URL": bank.jwks_url,
        "FYNLO_OPEN_BANKING_AUTH_BASE": bank.url,
        "FYNLO_OPEN_BANKING_PAYMENT_PAGE_BASE": bank.url,
        "FYNLO_OPEN_BANKING_MERCHANT_ACCOUNTS": f"GBP:{MERCHANT_ACCOUNT_ID}",
        "FYNLO_PROVIDER_TIMEOUT_SECONDS": "5",
    }


async def fynlo(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server.cli.main", *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO_ROOT,
        env=env,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(child.communicate(), COMMAND_SECONDS)
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    assert child.returncode is not None
    return child.returncode, out.decode(), err.decode()


async def lost_payment(
    client: httpx.AsyncClient, tenant: Tenant, seq: int, fake: Any, path: str, **body: Any
) -> tuple[UUID, str]:
    order_id = await make_order(tenant, seq=seq, lines=PIZZA)
    if body["method"] == "open_banking":
        # Made at the bank when the payer gives their details: that answer is the lost one.
        made = await pay(client, tenant.headers, order_id, **body)
        await fake.faults(delay_next=1, delay_seconds=HELD, delay_path=path)
        assert (await payer_starts(client, made.json())).status_code == 503
    else:
        await fake.faults(delay_next=1, delay_seconds=HELD, delay_path=path)
        assert (await pay(client, tenant.headers, order_id, **body)).status_code == 503
    await fake.answers_released()
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        payment_id = await conn.fetchval("SELECT id FROM payments WHERE order_id = $1", order_id)
        await conn.execute(
            "UPDATE payments SET created_at = created_at - interval '3 minutes',"
            " updated_at = updated_at - interval '3 minutes' WHERE id = $1",
            payment_id,
        )
    return order_id, str(payment_id)


@pytest.mark.usefixtures("impatient")
async def test_the_sweep_command_ends_lost_card_apple_pay_and_bank_payments(
    client: httpx.AsyncClient,
    tenant: Tenant,
    stripe_fake: StripeFake,
    open_banking_sandbox: OpenBankingSandbox,
    tmp_path: Path,
) -> None:
    card_order, card = await lost_payment(
        client, tenant, 1, stripe_fake, r"/confirm$",
        method="card", amount=2500, payment_method="pm_card_visa",
    )  # fmt: skip
    wallet_order, wallet = await lost_payment(
        client, tenant, 2, stripe_fake, r"^/v1/payment_intents$",
        method="apple_pay", amount=2500, wallet_token=await stripe_fake.apple_pay_token(),
    )  # fmt: skip
    _, bank = await lost_payment(
        client, tenant, 3, open_banking_sandbox, r"^/v3/payments$",
        method="open_banking", amount=2500,
    )  # fmt: skip
    key_file = tmp_path / "client.pem"
    key_file.write_text(open_banking_sandbox.client_private_key_pem)

    code, out, err = await fynlo(
        "payments", "sweep", env=command_env(stripe_fake, open_banking_sandbox, key_file)
    )

    assert code == 0, err
    assert json.loads(out.strip().splitlines()[-1])["resumed"] >= 3
    states = {}
    for payment_id in (card, wallet, bank):
        read = await client.get(f"/api/v1/payments/{payment_id}", headers=tenant.headers)
        states[payment_id] = read.json()["state"]
    assert states == {card: "succeeded", wallet: "succeeded", bank: "awaiting_customer"}
    for order_id in (card_order, wallet_order):
        assert (await order_payments(client, tenant.headers, order_id))["order_status"] == "paid"
    by_payment = (await stripe_fake.stats())["by_payment_id"]
    assert [by_payment[p]["succeeded_charges"] for p in (card, wallet)] == [1, 1]
    created = (await open_banking_sandbox.stats())["created_by_payment_id"]
    assert created[bank] == 1
