"""A running TrueLayer-shaped sandbox on 127.0.0.1, and providers pointed at it.

``open_banking_sandbox`` is the fixture; ``start_open_banking_sandbox`` does the same for
code that is not a test function (a session fixture, the e2e dev server) and wants to choose
the ``webhook_url`` or another option. Both generate fresh keys and client credentials, so
nothing signed or authorised in one test works in another.
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
from server.payments.fakes.open_banking_sandbox import bind_public_url, create_sandbox
from server.payments.fakes.runner import RunningFake, serve_in_thread
from server.payments.providers.open_banking import DEFAULT_WEBHOOK_PATH, OpenBankingProvider
from server.payments.providers.open_banking_signing import sign

MERCHANT_ACCOUNT_ID = "6b4b5e0c-4c8e-4a57-9d6c-0b7e6c2f5a11"
CONTROL_TIMEOUT_SECONDS = 10.0


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
            "merchant_account_id": MERCHANT_ACCOUNT_ID,
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

    async def approve(self, reference: str) -> dict[str, Any]:
        return await self.control("POST", f"/_sandbox/payments/{reference}/approve")

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

    ``options`` go to ``create_sandbox`` (``expiry_seconds``, ``fee_bp``, ``token_seconds``,
    ``transactions_page_size``...). Call ``stop()`` after.
    """
    client_private, client_public = generate_key_pair()
    signing_private, _ = generate_key_pair()
    client_kid, signing_kid = f"client-{uuid.uuid4()}", f"sandbox-{uuid.uuid4()}"
    client_id, client_secret = f"fynlo-{uuid.uuid4()}", secrets.token_urlsafe(32)
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
