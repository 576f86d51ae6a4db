"""Signed webhooks from the sandbox: recorded, then delivered with a few retries.

Each body is signed like TrueLayer's (docs.truelayer.com/docs/payment-webhooks): a detached
JWS in ``Tl-Signature`` covering ``POST``, the webhook URL's path, the
``X-TL-Webhook-Timestamp`` header and the body, whose header names in ``jku`` where the
public key is published. Every delivery is kept so tests can read and replay them.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import msgspec

from server.payments.fakes.open_banking_sandbox_bank import rfc3339
from server.payments.providers.open_banking_signing import sign

TIMESTAMP_HEADER = "X-TL-Webhook-Timestamp"
MAX_ATTEMPTS = 5
FIRST_RETRY_SECONDS = 0.25
DELIVERY_TIMEOUT_SECONDS = 5.0

log = logging.getLogger("fynlo.payments.open_banking_sandbox")


@dataclass
class Delivery:
    id: int
    event_type: str
    event_id: str
    path: str
    headers: dict[str, str]
    body: str
    attempts: int = 0
    delivered: bool = False
    last_error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.event_type,
            "event_id": self.event_id,
            "path": self.path,
            "headers": self.headers,
            "body": self.body,
            "attempts": self.attempts,
            "delivered": self.delivered,
            "last_error": self.last_error,
        }


class Outbox:
    """Signs every event, records it, and queues it for ``webhook_url`` when there is one."""

    def __init__(
        self,
        *,
        signing_kid: str,
        signing_private_key_pem: str,
        webhook_url: str | None,
        default_path: str,
    ) -> None:
        if webhook_url is not None and urlsplit(webhook_url).hostname != "127.0.0.1":
            raise ValueError(f"the sandbox only delivers to 127.0.0.1, not {webhook_url}")
        self.jku: str | None = None
        self.deliveries: list[Delivery] = []
        self._kid = signing_kid
        self._key = signing_private_key_pem
        self._url = webhook_url
        self._path = urlsplit(webhook_url).path if webhook_url else default_path
        self._ids = itertools.count(1)
        self._queue: asyncio.Queue[Delivery] = asyncio.Queue()

    def publish(self, event: dict[str, Any]) -> Delivery:
        body = msgspec.json.encode(event).decode()
        delivery = Delivery(
            id=next(self._ids),
            event_type=str(event["type"]),
            event_id=str(event["event_id"]),
            path=self._path,
            headers={},
            body=body,
        )
        self._sign(delivery)
        self.deliveries.append(delivery)
        self._enqueue(delivery)
        return delivery

    def redeliver(self, delivery_id: int) -> Delivery | None:
        """Sign a recorded delivery again with a fresh timestamp and send it once more."""
        delivery = next((d for d in self.deliveries if d.id == delivery_id), None)
        if delivery is not None:
            self._sign(delivery)
            self._enqueue(delivery)
        return delivery

    async def deliver_forever(self, http: httpx.AsyncClient) -> None:
        """Send queued deliveries one at a time until cancelled."""
        while True:
            delivery = await self._queue.get()
            try:
                await self._deliver(http, delivery)
            except Exception:
                # One broken delivery must not stop every later webhook.
                log.exception("sandbox webhook %s could not be delivered", delivery.id)

    async def _deliver(self, http: httpx.AsyncClient, delivery: Delivery) -> None:
        if self._url is None:
            return
        for attempt in range(MAX_ATTEMPTS):
            delivery.attempts += 1
            try:
                response = await http.post(
                    self._url, content=delivery.body.encode(), headers=delivery.headers
                )
            except httpx.HTTPError as exc:
                delivery.last_error = f"{type(exc).__name__}: {exc}"
            else:
                if response.is_success:
                    delivery.delivered = True
                    delivery.last_error = None
                    return
                delivery.last_error = f"HTTP {response.status_code}"
            if attempt + 1 < MAX_ATTEMPTS:
                await asyncio.sleep(FIRST_RETRY_SECONDS * 2**attempt)

    def _sign(self, delivery: Delivery) -> None:
        if self.jku is None:
            raise RuntimeError("the sandbox's public URL is not known yet")
        # The timestamp says when this delivery was signed, so it follows the wall clock,
        # not the sandbox clock: it is a replay guard, not a business time.
        timestamp = rfc3339(datetime.now(UTC))
        signature = sign(
            kid=self._kid,
            private_key_pem=self._key,
            path=delivery.path,
            headers={TIMESTAMP_HEADER: timestamp},
            body=delivery.body,
            jku=self.jku,
        )
        delivery.headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            "Tl-Signature": signature,
        }

    def _enqueue(self, delivery: Delivery) -> None:
        if self._url is not None:
            self._queue.put_nowait(delivery)
