"""Finding a PaymentIntent by our payment id, without making one (for Apple Pay, whose
wallet token we never keep): Stripe's list of PaymentIntents, page by page."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx

from server.payments.providers.base import NewPayment
from server.payments.states import PaymentState
from tests.fakes.stripe import StripeFake


def new_payment() -> NewPayment:
    return NewPayment(payment_id=uuid.uuid4(), amount=2500, currency="GBP", reference="Fynlo T-1")


async def test_a_payment_is_found_by_our_id_across_pages_and_a_missing_one_is_none(
    stripe_fake: StripeFake,
) -> None:
    provider = stripe_fake.provider()
    first = new_payment()
    made = await provider.create(first)
    # More than one page (100) made after it: the list is newest first.
    await asyncio.gather(*(provider.create(new_payment()) for _ in range(120)))

    found = await provider.find(first.payment_id, datetime.now(UTC))

    assert found is not None
    assert (found.reference, found.state) == (made.reference, PaymentState.awaiting_customer)
    assert await provider.find(uuid.uuid4(), datetime.now(UTC)) is None
    # Made long before the window around our row's creation: not looked at.
    assert await provider.find(first.payment_id, datetime.now(UTC) - timedelta(hours=1)) is None


async def test_the_fakes_list_is_shaped_like_stripes(stripe_fake: StripeFake) -> None:
    provider = stripe_fake.provider()
    await provider.create(new_payment())
    async with httpx.AsyncClient(base_url=stripe_fake.url, trust_env=False) as http:
        listed = await http.get(
            "/v1/payment_intents",
            params={"limit": 1},
            headers={"Authorization": f"Bearer {stripe_fake.api_key}"},
        )
    body = listed.json()
    assert set(body) == {"object", "data", "has_more", "url"}
    assert (body["object"], body["url"], body["has_more"]) == ("list", "/v1/payment_intents", False)
    assert body["data"][0]["object"] == "payment_intent"
