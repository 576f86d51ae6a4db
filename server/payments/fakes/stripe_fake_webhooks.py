"""The fake Stripe's webhooks: every event signed like Stripe's, recorded, and delivered.

Stripe signs ``"{t}.{body}"`` with HMAC-SHA256 under the endpoint secret and sends
``Stripe-Signature: t=…,v1=…`` (https://docs.stripe.com/webhooks#verify-manually); each
attempt is signed afresh. Deliveries are at least once and unordered, and a non-2xx answer
or a connection error is retried; here a few times with short backoff, never to anywhere but
127.0.0.1. Every signed delivery is recorded so tests can read and replay them.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import stripe

MAX_ATTEMPTS = 5
FIRST_RETRY_SECONDS = 0.1
ATTEMPT_TIMEOUT_SECONDS = 2.0
MAX_IN_FLIGHT = 8
"""With doubling backoff a delivery gives up within about 13 s (3 s waiting, 5 tries of 2 s)."""


@dataclass
class Delivery:
    event_id: str
    event_type: str
    payload: str
    headers: dict[str, str]
    attempts: list[str] = field(default_factory=list)
    """One entry per delivery attempt: ``"200"``, ``"500"`` or the connection error's name."""
    delivered: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "type": self.event_type,
            "payload": self.payload,
            "headers": self.headers,
            "attempts": self.attempts,
            "delivered": self.delivered,
        }


class WebhookOutbox:
    """Signs and records each event; sends it to ``url`` in the background when there is one."""

    def __init__(self, *, url: str | None, secret: str) -> None:
        if url is not None and urlsplit(url).hostname != "127.0.0.1":
            raise ValueError(f"the fake Stripe only delivers webhooks to 127.0.0.1, not {url}")
        self.url = url
        self.secret = secret
        self.deliveries: list[Delivery] = []
        self._sending: set[asyncio.Task[None]] = set()
        self._http: httpx.AsyncClient | None = None
        # Like Stripe, a few deliveries at a time: a burst must not starve the receiver.
        self._slots = asyncio.Semaphore(MAX_IN_FLIGHT)

    def send(self, event: dict[str, Any]) -> None:
        """Record ``event`` signed; start delivering it if there is a URL (needs a running loop)."""
        delivery = Delivery(
            event_id=event["id"],
            event_type=event["type"],
            payload=json.dumps(event, indent=2),
            headers={},
        )
        self._sign(delivery)
        self.deliveries.append(delivery)
        if self.url is not None:
            task = asyncio.get_running_loop().create_task(self._deliver(delivery))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def start(self) -> None:
        self._http = httpx.AsyncClient(timeout=ATTEMPT_TIMEOUT_SECONDS)

    async def stop(self) -> None:
        await self.forget()
        if self._http is not None:
            await self._http.aclose()

    async def forget(self) -> None:
        """Drop every record and abandon deliveries still retrying."""
        for task in list(self._sending):
            task.cancel()
        await asyncio.gather(*self._sending, return_exceptions=True)
        self.deliveries.clear()

    async def _deliver(self, delivery: Delivery) -> None:
        assert self.url is not None and self._http is not None  # only started with both
        for attempt in range(MAX_ATTEMPTS):
            if attempt:
                await asyncio.sleep(FIRST_RETRY_SECONDS * 2**attempt)
                self._sign(delivery)
            try:
                async with self._slots:
                    response = await self._http.post(
                        self.url, content=delivery.payload.encode(), headers=delivery.headers
                    )
            except httpx.HTTPError as exc:
                delivery.attempts.append(type(exc).__name__)
                continue
            delivery.attempts.append(str(response.status_code))
            if response.is_success:
                delivery.delivered = True
                return

    def _sign(self, delivery: Delivery) -> None:
        delivery.headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "Stripe-Signature": stripe.WebhookSignature.generate_signature_header(
                delivery.payload, self.secret
            ),
        }
