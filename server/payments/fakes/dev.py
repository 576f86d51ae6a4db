"""The fake Stripe and pay-by-bank sandbox for `make run`, wired to this server's webhooks.

Both serve on 127.0.0.1 in background threads of the server process. Keys are made fresh on
every start: the sandbox and its client are both ours, so nothing needs to persist. While
they run, ``FYNLO_DATA_DIR/dev-providers.json`` (owner-only, removed on stop) says where they
are and how to sign in, so ``fynlo reconcile`` and ``fynlo payments sweep`` in another
process reach the same books the server takes payments into, the way ``fynlo`` commands find
``make run``'s database.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import msgspec

from server.payments.fakes.keys import generate_key_pair
from server.payments.fakes.open_banking_sandbox import bind_public_url, create_sandbox
from server.payments.fakes.open_banking_sandbox_accounts import DEFAULT_MERCHANT_ACCOUNTS
from server.payments.fakes.runner import RunningFake, serve_in_thread
from server.payments.fakes.stripe_fake import create_stripe_fake
from server.payments.providers.base import Provider
from server.payments.providers.open_banking import OpenBankingProvider
from server.payments.providers.stripe import StripeProvider
from server.payments.qr import return_uri
from server.settings import Settings

WEBHOOKS = "/api/v1/payments/webhooks"
STATE_FILE = "dev-providers.json"
STRIPE_API_KEY = "sk_test_fynlo_dev"
CLIENT_ID = "fynlo-dev"


class DevProviders(msgspec.Struct, frozen=True, kw_only=True):
    """How to reach the running fakes: throwaway credentials made at start-up."""

    pid: int
    """The server process that runs them: the file is stale once it has gone."""
    stripe_url: str
    stripe_webhook_secret: str
    bank_url: str
    bank_client_secret: str
    bank_private_key_pem: str


@dataclass
class DevFakes:
    stripe: RunningFake
    bank: RunningFake
    providers: dict[str, Provider]
    state_file: Path

    def stop(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.state_file.unlink()
        self.stripe.stop()
        self.bank.stop()


def state_file(settings: Settings) -> Path:
    return settings.data_dir / STATE_FILE


def read_state(settings: Settings) -> DevProviders | None:
    """The fakes a running ``fynlo dev`` (or ``serve`` with fakes) started, if any."""
    try:
        state = msgspec.json.decode(state_file(settings).read_bytes(), type=DevProviders)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return None
    return state if _alive(state.pid) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write_state(path: Path, state: DevProviders) -> None:
    """Owner-only, and whole or not at all: it holds the fakes' throwaway credentials."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(msgspec.json.encode(state))
    partial.replace(path)


def dev_providers(state: DevProviders, settings: Settings) -> dict[str, Provider]:
    """Clients of the fakes ``state`` describes, as the server that runs them has."""
    return {
        "stripe": StripeProvider(
            api_key=STRIPE_API_KEY,
            webhook_secret=state.stripe_webhook_secret,
            api_base=state.stripe_url,
            timeout_seconds=settings.provider_timeout_seconds,
        ),
        "open_banking": OpenBankingProvider(
            api_base=state.bank_url,
            auth_base=state.bank_url,
            payment_page_base=state.bank_url,
            signing_kid=CLIENT_ID,
            private_key_pem=state.bank_private_key_pem,
            merchant_accounts=DEFAULT_MERCHANT_ACCOUNTS,
            client_id=CLIENT_ID,
            client_secret=state.bank_client_secret,
            jwks_url=f"{state.bank_url}/.well-known/jwks.json",
            timeout_seconds=settings.provider_timeout_seconds,
        ),
    }


def start_dev_fakes(settings: Settings) -> DevFakes:
    server = f"http://127.0.0.1:{settings.port}{WEBHOOKS}"
    webhook_secret = f"whsec_{secrets.token_hex(16)}"
    stripe = serve_in_thread(
        create_stripe_fake(webhook_url=f"{server}/stripe", webhook_secret=webhook_secret),
        name="fake-stripe",
    )
    client_private, client_public = generate_key_pair()
    client_secret = secrets.token_urlsafe(24)
    sandbox_private, _ = generate_key_pair()
    sandbox = create_sandbox(
        client_public_key_pem=client_public,
        client_kid=CLIENT_ID,
        signing_private_key_pem=sandbox_private,
        signing_kid="sandbox-dev",
        client_id=CLIENT_ID,
        client_secret=client_secret,
        webhook_url=f"{server}/open-banking",
        expiry_seconds=settings.payment_qr_ttl_seconds,
        payee_name="Fynlo demo restaurant",
        return_uris=[return_uri()],
    )
    bank = serve_in_thread(sandbox, name="open-banking-sandbox")
    bind_public_url(sandbox, bank.url)
    state = DevProviders(
        pid=os.getpid(),
        stripe_url=stripe.url,
        stripe_webhook_secret=webhook_secret,
        bank_url=bank.url,
        bank_client_secret=client_secret,
        bank_private_key_pem=client_private,
    )
    path = state_file(settings)
    _write_state(path, state)
    return DevFakes(
        stripe=stripe, bank=bank, providers=dev_providers(state, settings), state_file=path
    )
