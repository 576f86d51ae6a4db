"""Run ``fynlo`` as support staff do: the installed entry point, in its own process, with the
database and the payment providers named only by ``FYNLO_*`` settings."""

from __future__ import annotations

import asyncio
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from server.settings import Settings
from tests.e2e.processes import FYNLO, fynlo_env
from tests.fakes.open_banking import MERCHANT_ACCOUNT_ID, OpenBankingSandbox
from tests.fakes.stripe import StripeFake

COMMAND_SECONDS = 120


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str


def database_env(settings: Settings, **overrides: str) -> dict[str, str]:
    """The tests' database and an empty data folder of its own: no `make run` state in it,
    not even from a ``fynlo serve`` with fakes that another test runs on the tests' folder."""
    return fynlo_env(
        FYNLO_DATABASE_URL=settings.database_url or "",
        FYNLO_DATA_DIR=tempfile.mkdtemp(prefix="fynlo-cli-"),
        **overrides,
    )


def providers_env(
    settings: Settings, stripe: StripeFake, bank: OpenBankingSandbox, key_file: Path
) -> dict[str, str]:
    """The tests' database with both providers pointed at this test's fakes."""
    key_file.write_text(bank.client_private_key_pem)
    return database_env(
        settings,
        FYNLO_STRIPE_API_KEY=stripe.api_key,
        FYNLO_STRIPE_WEBHOOK_SECRET=stripe.secret,
        FYNLO_STRIPE_API_BASE=stripe.url,
        FYNLO_OPEN_BANKING_API_BASE=bank.url,
        FYNLO_OPEN_BANKING_CLIENT_ID=bank.client_id,
        FYNLO_OPEN_BANKING_CLIENT_SECRET=bank.client_secret,
        FYNLO_OPEN_BANKING_SIGNING_KID=bank.client_kid,
        FYNLO_OPEN_BANKING_SIGNING_KEY_FILE=str(key_file),
        FYNLO_OPEN_BANKING_JWKS_URL=bank.jwks_url,
        FYNLO_OPEN_BANKING_AUTH_BASE=bank.url,
        FYNLO_OPEN_BANKING_PAYMENT_PAGE_BASE=bank.url,
        FYNLO_OPEN_BANKING_MERCHANT_ACCOUNTS=f"GBP:{MERCHANT_ACCOUNT_ID}",
        FYNLO_PROVIDER_TIMEOUT_SECONDS="5",
    )


def run(*args: str, env: dict[str, str]) -> Ran:
    """``fynlo ARGS`` with stdout and stderr captured (so neither is a terminal)."""
    result = subprocess.run(
        [FYNLO, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_SECONDS,
        check=False,
    )
    return Ran(result.returncode, result.stdout, result.stderr)


async def fynlo(*args: str, env: dict[str, str]) -> Ran:
    """``run`` off the event loop, so the in-process fakes keep answering meanwhile."""
    return await asyncio.to_thread(run, *args, env=env)
