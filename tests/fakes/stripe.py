"""A running fake Stripe on 127.0.0.1, providers pointed at it, and a webhook receiver.

``stripe_fake`` is the fixture; ``start_stripe_fake`` does the same for code that is not a
test function (a session fixture, the e2e dev server) and wants to choose the
``webhook_url``. ``start_webhook_receiver`` serves a tiny app that records what the fake
delivers, answering 500 to the first few deliveries when asked to.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest_asyncio
from litestar import Litestar, Request, Response, post

from server.payments.fakes.runner import RunningFake, serve_in_thread
from server.payments.fakes.stripe_fake import create_stripe_fake
from server.payments.providers.stripe import StripeProvider

API_KEY = "sk_test_fynlo"
WEBHOOK_SECRET = "whsec_fynlo_test_secret"
CONTROL_TIMEOUT_SECONDS = 10.0
WEBHOOK_PATH = "/webhooks/stripe"


@dataclass
class StripeFake:
    """The fake serving in a thread, its secrets, and its ``/_fake/`` test controls."""

    url: str
    secret: str
    running: RunningFake
    api_key: str = API_KEY
    _providers: list[StripeProvider] = field(default_factory=list)

    def provider(self, **overrides: Any) -> StripeProvider:
        """A StripeProvider for this fake, closed when the fixture ends."""
        options: dict[str, Any] = {
            "api_key": self.api_key,
            "webhook_secret": self.secret,
            "api_base": self.url,
            "timeout_seconds": CONTROL_TIMEOUT_SECONDS,
        }
        provider = StripeProvider(**(options | overrides))
        self._providers.append(provider)
        return provider

    async def stats(self) -> dict[str, Any]:
        """Counts of PaymentIntents, succeeded charges and refunds, also per ``payment_id``."""
        stats: dict[str, Any] = await self.control("GET", "/_fake/stats")
        return stats

    async def faults(
        self,
        *,
        fail_next: int | None = None,
        delay_next: int | None = None,
        delay_seconds: float | None = None,
        delay_path: str | None = None,
        stall_next: int | None = None,
        stall_seconds: float | None = None,
    ) -> dict[str, Any]:
        plan = {
            "fail_next": fail_next,
            "delay_next": delay_next,
            "delay_seconds": delay_seconds,
            "delay_path": delay_path,
            "stall_next": stall_next,
            "stall_seconds": stall_seconds,
        }
        faults: dict[str, Any] = await self.control(
            "POST", "/_fake/faults", {k: v for k, v in plan.items() if v is not None}
        )
        return faults

    async def answers_released(self, *, seconds: float = 10.0) -> None:
        """Wait (bounded) until no answer is being held back by ``delay_next``."""
        for _ in range(int(seconds / 0.05)):
            if (await self.faults())["held"] == 0:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"the fake Stripe still holds answers after {seconds} s")

    async def webhooks(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Every signed delivery so far (``payload`` as str, ``headers``), optionally one type."""
        items: list[dict[str, Any]] = await self.control("GET", "/_fake/webhooks")
        return [item for item in items if kind is None or item["type"] == kind]

    async def settle_refund(
        self, refund_reference: str, status: str, failure_reason: str | None = None
    ) -> dict[str, Any]:
        body = {"status": status, "failure_reason": failure_reason}
        refund: dict[str, Any] = await self.control(
            "POST", f"/_fake/refunds/{refund_reference}/settle", body
        )
        return refund

    async def release_balance_transactions(self, charge: str | None = None) -> list[str]:
        """Finish asynchronous captures now: fees booked, ``charge.updated`` sent."""
        released: dict[str, list[str]] = await self.control(
            "POST", "/_fake/balance_transactions/release", {"charge": charge}
        )
        return released["released"]

    async def age_idempotency_keys(self, seconds: float) -> int:
        """Make every saved idempotency key older (24 h: Stripe may prune it)."""
        aged: dict[str, int] = await self.control(
            "POST", "/_fake/idempotency/age", {"seconds": seconds}
        )
        return aged["keys"]

    async def apple_pay_token(self) -> str:
        """A single-use card token made from a PassKit ``pk_token``, as Stripe's iOS SDK does."""
        async with httpx.AsyncClient(
            base_url=self.url, timeout=CONTROL_TIMEOUT_SECONDS, trust_env=False
        ) as http:
            response = await http.post(
                "/v1/tokens",
                data={"pk_token": '{"paymentData":"fake"}'},
                headers={"Authorization": f"Bearer {self.api_key}"},
            )
        response.raise_for_status()
        token: str = response.json()["id"]
        return token

    async def reset(self) -> None:
        await self.control("POST", "/_fake/reset")

    async def control(self, method: str, path: str, body: Any = None) -> Any:
        async with httpx.AsyncClient(
            base_url=self.url, timeout=CONTROL_TIMEOUT_SECONDS, trust_env=False
        ) as http:
            response = await http.request(method, path, json=body)
        response.raise_for_status()
        return response.json()

    async def aclose(self) -> None:
        for provider in self._providers:
            await provider.aclose()
        self._providers.clear()

    def stop(self) -> None:
        self.running.stop()


def start_stripe_fake(
    webhook_url: str | None = None,
    *,
    secret: str = WEBHOOK_SECRET,
    fee_bp: int = 150,
    fee_fixed: int = 20,
    async_capture_seconds: float | None = None,
) -> StripeFake:
    """Serve a fake Stripe on a free 127.0.0.1 port; call ``stop()`` after.

    Fees of ``automatic_async`` payments wait for ``release_balance_transactions()`` unless
    ``async_capture_seconds`` is given.
    """
    app = create_stripe_fake(
        webhook_url=webhook_url,
        webhook_secret=secret,
        fee_bp=fee_bp,
        fee_fixed=fee_fixed,
        async_capture_seconds=async_capture_seconds,
    )
    running = serve_in_thread(app, name="stripe-fake")
    return StripeFake(url=running.url, secret=secret, running=running)


@pytest_asyncio.fixture
async def stripe_fake() -> AsyncIterator[StripeFake]:
    """A fresh fake Stripe (no webhook URL: read deliveries with ``webhooks()``) for one test."""
    fake = start_stripe_fake()
    try:
        yield fake
    finally:
        await fake.aclose()
        fake.stop()


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookReceiver:
    """Records every POST to ``url``; answers 500 to the first ``fail_first`` of them."""

    url: str
    running: RunningFake
    received: list[Received]

    async def wait_for(
        self, done: Callable[[list[Received]], bool], *, seconds: float = 15.0
    ) -> list[Received]:
        """Poll (bounded) until ``done`` holds for what arrived; return it either way."""
        for _ in range(int(seconds / 0.05)):
            if done(self.received):
                break
            await asyncio.sleep(0.05)
        return list(self.received)

    def stop(self) -> None:
        self.running.stop()


def start_webhook_receiver(*, fail_first: int = 0) -> WebhookReceiver:
    received: list[Received] = []
    failures_left = [fail_first]

    @post(WEBHOOK_PATH, status_code=200)
    async def receive(request: Request[Any, Any, Any]) -> Response[str]:
        if failures_left[0] > 0:
            failures_left[0] -= 1
            return Response("try again", status_code=500)
        received.append(Received(headers=dict(request.headers), body=await request.body()))
        return Response("ok")

    app = Litestar(route_handlers=[receive], openapi_config=None, logging_config=None)
    running = serve_in_thread(app, name="stripe-webhook-receiver")
    return WebhookReceiver(url=running.url + WEBHOOK_PATH, running=running, received=received)
