"""Helpers for cards in person: Terminal set-up, the simulated reader, and Stripe's webhooks."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import stripe

from server.payments.providers.stripe import ContentHTTPXClient
from tests.factories import Tenant
from tests.fakes.stripe import StripeFake

ADDRESS = {"line1": "1 High Street", "city": "London", "postal_code": "N1 1AA", "country": "GB"}
VISA = "4242424242424242"
DECLINED = "4000000000000002"


async def set_up_terminal(client: httpx.AsyncClient, tenant: Tenant) -> str:
    """Register the tenant's location with Terminal and one simulated reader; its id."""
    location = await client.put(
        f"/api/v1/payments/terminal/locations/{tenant.location_id}",
        json=ADDRESS,
        headers=tenant.headers,
    )
    assert location.status_code == 200, location.text
    reader = await client.post(
        "/api/v1/payments/terminal/readers",
        json={
            "location_id": str(tenant.location_id),
            "registration_code": "simulated-wpe",
            "label": "Bar",
        },
        headers=tenant.headers,
    )
    assert reader.status_code == 201, reader.text
    reader_id: str = reader.json()["id"]
    return reader_id


@contextlib.asynccontextmanager
async def sdk(stripe_fake: StripeFake) -> AsyncIterator[stripe.StripeClient]:
    """The Stripe SDK on the fake, as a test plays the customer and the reader with it."""
    http = ContentHTTPXClient(timeout=10)
    try:
        yield stripe.StripeClient(
            stripe_fake.api_key,
            base_addresses={"api": stripe_fake.url},
            http_client=http,
            max_network_retries=0,
        )
    finally:
        await http.close_async()  # type: ignore[no-untyped-call]


async def present(
    stripe_fake: StripeFake, reader_id: str, number: str = VISA, tip: int = 0
) -> None:
    """The customer presents a card on the simulated reader (Stripe's test helper)."""
    params: dict[str, Any] = {"type": "card_present", "card_present": {"number": number}}
    if tip:
        params["amount_tip"] = tip
    async with sdk(stripe_fake) as client:
        await client.v1.test_helpers.terminal.readers.present_payment_method_async(
            reader_id,
            params,  # type: ignore[arg-type]
        )


async def deliver(
    client: httpx.AsyncClient, stripe_fake: StripeFake, reference: str, kind: str
) -> list[int]:
    """Deliver Stripe's webhooks of ``kind`` about PaymentIntent ``reference``; the statuses."""
    statuses = []
    for item in await stripe_fake.webhooks(kind):
        about = json.loads(item["payload"])["data"]["object"]
        if reference not in (about.get("id"), about.get("payment_intent")):
            continue
        answer = await client.post(
            "/api/v1/payments/webhooks/stripe",
            content=item["payload"].encode(),
            headers=item["headers"],
        )
        statuses.append(answer.status_code)
    return statuses


async def reference_of(stripe_fake: StripeFake, payment_id: str) -> str:
    """The PaymentIntent Stripe holds for our payment id (found by its metadata)."""
    async with sdk(stripe_fake) as client:
        found = await client.v1.payment_intents.search_async(
            {"query": f"metadata['payment_id']:'{payment_id}'"}
        )
    assert found.data, f"Stripe has no PaymentIntent for {payment_id}"
    return str(found.data[0].id)
