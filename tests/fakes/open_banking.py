"""A running TrueLayer-shaped sandbox on 127.0.0.1, and providers pointed at it.

``open_banking_sandbox`` is the fixture; ``start_open_banking_sandbox`` does the same for
code that is not a test function (a session fixture, the e2e dev server) and wants to choose
the ``webhook_url`` or another option. Both generate fresh keys and client credentials, so
nothing signed or authorised in one test works in another. ``new_bank_payment`` makes a
NewPayment the provider accepts (a payer and a registered return URI).
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest_asyncio
from litestar import Litestar

from server.payments.fakes.keys import generate_key_pair
from server.payments.fakes.open_banking_sandbox import (
    DEFAULT_RETURN_URI,
    bind_public_url,
    create_sandbox,
)
from server.payments.fakes.open_banking_sandbox_accounts import DEFAULT_MERCHANT_ACCOUNTS
from server.payments.fakes.runner import RunningFake, serve_in_thread
from server.payments.providers.base import NewPayment, Payer
from server.payments.providers.open_banking import DEFAULT_WEBHOOK_PATH, OpenBankingProvider
from server.payments.providers.open_banking_signing import sign

MERCHANT_ACCOUNT_ID = DEFAULT_MERCHANT_ACCOUNTS["GBP"]
EUR_MERCHANT_ACCOUNT_ID = DEFAULT_MERCHANT_ACCOUNTS["EUR"]
RETURN_URI = DEFAULT_RETURN_URI
SERVER_RETURN_URI = "http://127.0.0.1:8000/pay/return"
"""``qr.return_uri()`` with the tests' settings (no ``FYNLO_PUBLIC_URL``, port 8000)."""
PAYER = Payer(name="Sandbox Diner", email="diner@example.com")
CONTROL_TIMEOUT_SECONDS = 10.0


def new_bank_payment(
    amount: int = 1234, *, currency: str = "GBP", reference: str = "Order 42", **more: Any
) -> NewPayment:
    """A payment the provider accepts: a payer and the sandbox's registered return URI."""
    options: dict[str, Any] = {"payer": PAYER, "return_uri": RETURN_URI} | more
    return NewPayment(
        payment_id=uuid.uuid4(), amount=amount, currency=currency, reference=reference, **options
    )


@dataclass
class OpenBankingSandbox:
    """A sandbox serving in a thread, with the keys on both sides and test controls."""

    url: str
    app: Litestar
    running: RunningFake
    client_kid: str
    client_private_key_pem: str
    signing_kid: str
    signing_private_key_pem: str
    webhook_path: str
    client_id: str
    client_secret: str
    _providers: list[OpenBankingProvider] = field(default_factory=list)

    @property
    def jwks_url(self) -> str:
        return f"{self.url}/.well-known/jwks.json"

    def provider(self, **overrides: Any) -> OpenBankingProvider:
        """An OpenBankingProvider for this sandbox, closed when the fixture ends."""
        options: dict[str, Any] = {
            "api_base": self.url,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "signing_kid": self.client_kid,
            "private_key_pem": self.client_private_key_pem,
            "merchant_accounts": dict(DEFAULT_MERCHANT_ACCOUNTS),
            "auth_base": self.url,
            "payment_page_base": self.url,
            "jwks_url": self.jwks_url,
            "webhook_path": self.webhook_path,
        }
        provider = OpenBankingProvider(**(options | overrides))
        self._providers.append(provider)
        return provider

    async def access_token(self) -> str:
        """A fresh access token from ``/connect/token``, for calling the API by hand."""
        async with httpx.AsyncClient(
            base_url=self.url, timeout=CONTROL_TIMEOUT_SECONDS, trust_env=False
        ) as http:
            response = await http.post(
                "/connect/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": self.client_id,
                    "client_secret": self.client_secret,
                    "scope": "payments",
                },
            )
        response.raise_for_status()
        return str(response.json()["access_token"])

    async def open_page(self, reference: str) -> dict[str, Any]:
        return await self.control("POST", f"/_sandbox/payments/{reference}/open")

    async def approve(self, reference: str, until: str | None = None) -> dict[str, Any]:
        """The payer approves; by default it executes and settles ``settle_seconds`` later,
        ``until="authorized"`` or ``"executed"`` holds it there."""
        body = {"until": until} if until else None
        return await self.control("POST", f"/_sandbox/payments/{reference}/approve", body)

    async def execute(self, reference: str, *, hold: bool = False) -> dict[str, Any]:
        body = {"hold": hold}
        return await self.control("POST", f"/_sandbox/payments/{reference}/execute", body)

    async def settle(self, reference: str) -> dict[str, Any]:
        return await self.control("POST", f"/_sandbox/payments/{reference}/settle")

    async def creditable(self, reference: str) -> dict[str, Any]:
        return await self.control("POST", f"/_sandbox/payments/{reference}/creditable")

    async def stall(self, reference: str) -> dict[str, Any]:
        return await self.control("POST", f"/_sandbox/payments/{reference}/stall")

    async def reverse(self, reference: str) -> dict[str, Any]:
        return await self.control("POST", f"/_sandbox/payments/{reference}/reverse")

    async def payer_cancel(self, reference: str) -> dict[str, Any]:
        return await self.control("POST", f"/_sandbox/payments/{reference}/payer_cancel")

    async def attempt_fail(self, reference: str) -> dict[str, Any]:
        return await self.control("POST", f"/_sandbox/payments/{reference}/attempt_fail")

    async def change_balance(
        self, delta_in_minor: int, account: str = MERCHANT_ACCOUNT_ID
    ) -> dict[str, Any]:
        """Top a merchant account up (or, negative, sweep money out as a payout would)."""
        path = f"/_sandbox/merchant-accounts/{account}/balance"
        return await self.control("POST", path, {"delta_in_minor": delta_in_minor})

    async def decline(self, reference: str) -> dict[str, Any]:
        return await self.control("POST", f"/_sandbox/payments/{reference}/decline")

    async def reject(self, reference: str) -> dict[str, Any]:
        return await self.control("POST", f"/_sandbox/payments/{reference}/reject")

    async def fail_refund(self, refund_reference: str) -> dict[str, Any]:
        return await self.control("POST", f"/_sandbox/refunds/{refund_reference}/fail")

    async def advance_clock(self, seconds: float) -> None:
        await self.control("POST", "/_sandbox/clock/advance", {"seconds": seconds})

    async def webhooks(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Every signed webhook so far (``body`` as str, ``headers``), optionally of one type."""
        items: list[dict[str, Any]] = (await self.control("GET", "/_sandbox/webhooks"))["items"]
        return [item for item in items if kind is None or item["type"] == kind]

    async def stats(self) -> dict[str, Any]:
        return await self.control("GET", "/_sandbox/stats")

    async def faults(
        self,
        *,
        fail_next: int | None = None,
        delay_next: int | None = None,
        delay_seconds: float | None = None,
        delay_path: str | None = None,
    ) -> dict[str, Any]:
        plan = {
            "fail_next": fail_next,
            "delay_next": delay_next,
            "delay_seconds": delay_seconds,
            "delay_path": delay_path,
        }
        return await self.control(
            "POST", "/_sandbox/faults", {k: v for k, v in plan.items() if v is not None}
        )

    async def answers_released(self, *, seconds: float = 10.0) -> None:
        """Wait (bounded) until no answer is being held back by ``delay_next``."""
        for _ in range(int(seconds / 0.05)):
            if (await self.faults())["held"] == 0:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"the sandbox still holds answers after {seconds} s")

    async def control(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        async with httpx.AsyncClient(
            base_url=self.url, timeout=CONTROL_TIMEOUT_SECONDS, trust_env=False
        ) as http:
            response = await http.request(method, path, json=body)
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    async def aclose(self) -> None:
        for provider in self._providers:
            await provider.aclose()
        self._providers.clear()

    def stop(self) -> None:
        self.running.stop()


def start_open_banking_sandbox(
    *, webhook_url: str | None = None, **options: Any
) -> OpenBankingSandbox:
    """Generate keys and credentials and serve a sandbox on a free 127.0.0.1 port.

    ``options`` go to ``create_sandbox`` (``expiry_seconds``, ``settle_seconds``,
    ``token_seconds``, ``transactions_page_size``, ``return_uris``...). Call ``stop()`` after.
    """
    client_private, client_public = generate_key_pair()
    signing_private, _ = generate_key_pair()
    client_kid, signing_kid = f"client-{uuid.uuid4()}", f"sandbox-{uuid.uuid4()}"
    client_id, client_secret = f"fynlo-{uuid.uuid4()}", secrets.token_urlsafe(32)
    # The provider tests' return URI, and the server's own result page (as registered live).
    options.setdefault("return_uris", (RETURN_URI, SERVER_RETURN_URI))
    app = create_sandbox(
        client_public_key_pem=client_public,
        client_kid=client_kid,
        signing_private_key_pem=signing_private,
        signing_kid=signing_kid,
        webhook_url=webhook_url,
        client_id=client_id,
        client_secret=client_secret,
        **options,
    )
    running = serve_in_thread(app, name="open-banking-sandbox")
    bind_public_url(app, running.url)
    return OpenBankingSandbox(
        url=running.url,
        app=app,
        running=running,
        client_kid=client_kid,
        client_private_key_pem=client_private,
        signing_kid=signing_kid,
        signing_private_key_pem=signing_private,
        webhook_path=httpx.URL(webhook_url).path if webhook_url else DEFAULT_WEBHOOK_PATH,
        client_id=client_id,
        client_secret=client_secret,
    )


def signed_webhook(
    body: str, *, private_key_pem: str, kid: str, jku: str, path: str, timestamp: str
) -> dict[str, str]:
    """Headers for a webhook signed however a test likes (another key, an old timestamp)."""
    signature = sign(
        kid=kid,
        private_key_pem=private_key_pem,
        path=path,
        headers={"X-TL-Webhook-Timestamp": timestamp},
        body=body,
        jku=jku,
    )
    return {
        "Content-Type": "application/json",
        "X-TL-Webhook-Timestamp": timestamp,
        "Tl-Signature": signature,
    }


@asynccontextmanager
async def running_open_banking_sandbox(**options: Any) -> AsyncIterator[OpenBankingSandbox]:
    """``start_open_banking_sandbox(**options)``, closed and stopped on the way out."""
    sandbox = start_open_banking_sandbox(**options)
    try:
        yield sandbox
    finally:
        await sandbox.aclose()
        sandbox.stop()


@pytest_asyncio.fixture
async def open_banking_sandbox() -> AsyncIterator[OpenBankingSandbox]:
    """A fresh sandbox (no webhook URL: read webhooks with ``webhooks()``) for one test."""
    async with running_open_banking_sandbox() as sandbox:
        yield sandbox
