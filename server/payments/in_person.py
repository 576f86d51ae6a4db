"""Cards in person (Stripe Terminal): sending a payment to a reader, and capturing it.

A ``card_present`` payment is made like any other (``POST /payments``); its PaymentIntent
waits for the card. The card is collected either by the iPad's Terminal SDK (Tap to Pay on
iPad, with the payment's ``client_secret``) or by a reader the server drives (``collect``).
The customer's bank authorises it, and the server captures it:

- as soon as it hears (the iPad's ``POST /payments/{id}/capture``, or Stripe's
  ``payment_intent.amount_capturable_updated`` webhook: ``capture_due``), and in any case at
  the next sweep, so an authorisation never lapses unnoticed;
- with the tip the customer added on the reader, recorded apart from the bill;
- never when ``capture_hold`` is set (a card taken offline past the restaurant's limits):
  a manager captures it, or cancels it, which releases the customer's card.

Manual capture, not automatic, so that nothing is taken that the server has not checked, and
an authorisation the server will not take is released instead of refunded (no fee is lost).
"""

from __future__ import annotations

import logging
from uuid import UUID

import asyncpg

from server.auth.permissions import DEVICE, Permission, decide
from server.auth.tables import Role
from server.db.engine import connection, transaction
from server.errors import ValidationFailed
from server.payments import errors as e
from server.payments import gateway, idempotency, recovery
from server.payments import schemas as s
from server.payments.fees import Method
from server.payments.providers.base import (
    Provider,
    ProviderPayment,
    ProviderRefused,
    ProviderUnavailable,
)
from server.payments.providers.stripe import StripeProvider
from server.payments.services import Answer, drive, record_outcome, visible
from server.payments.states import ENDINGS, PaymentState

log = logging.getLogger("fynlo.payments.in_person")

OVER_OFFLINE_LIMIT = "over_offline_limit"
"""``capture_hold`` of a card taken offline past the restaurant's limits."""


async def collect(
    *,
    restaurant_id: UUID,
    location_id: UUID | None,
    payment_id: UUID,
    data: s.Collect,
    key: str,
    body: bytes,
) -> Answer:
    """Send a waiting ``card_present`` payment to a reader at its location; the reader then
    shows the amount (and a tip screen if asked) and waits for the card."""
    async with transaction() as conn:
        claimed = await idempotency.claim(
            conn,
            restaurant_id=restaurant_id,
            key=key,
            operation=f"POST {payment_id}/collect",
            body=body,
        )
        if isinstance(claimed, idempotency.Replay):
            return claimed.status_code, claimed.body
        row = await visible(conn, payment_id, restaurant_id, location_id)
        if claimed.resource_id is None:
            _check_collectable(row)
            if data.tip_on_reader and row["tip"]:
                raise ValidationFailed(
                    "the tip was given with the payment: the reader asks for none",
                    field="tip_on_reader",
                )
            known = await conn.fetchval(
                "SELECT true FROM terminal_readers WHERE id = $1 AND location_id = $2",
                data.reader_id,
                row["location_id"],
            )
            if not known:
                raise ValidationFailed("no such reader at this location", field="reader_id")
            await conn.execute(
                "UPDATE payments SET reader_id = $2 WHERE id = $1", payment_id, data.reader_id
            )
            await idempotency.attach(
                conn, restaurant_id=restaurant_id, key=key, resource=payment_id
            )

    async def send(provider: Provider, row: asyncpg.Record) -> ProviderPayment | None:
        if PaymentState(row["state"]) in ENDINGS:
            return None
        found = await recovery.settle(provider, row, held=recovery.Held(), past_deadline=False)
        if found is None or found.state is not PaymentState.awaiting_customer:
            return found  # not made, or the card is in already: nothing to collect
        assert isinstance(provider, StripeProvider)
        try:
            await provider.process_on_reader(
                data.reader_id, found.reference, tipping=data.tip_on_reader, attempt=key
            )
        except ProviderRefused as exc:  # busy, offline: the payment itself is untouched
            raise _ReaderSaidNo(exc.reason) from exc
        return found

    try:
        return await drive(restaurant_id, location_id, payment_id, key, 200, send)
    except _ReaderSaidNo as no:
        async with transaction() as conn:
            await idempotency.release(conn, restaurant_id=restaurant_id, key=key)
        raise e.ReaderRefused(f"the reader refused: {no.reason}", reason=no.reason) from no


async def capture(
    *,
    restaurant_id: UUID,
    location_id: UUID | None,
    role: Role | None,
    payment_id: UUID,
    key: str,
    body: bytes,
) -> Answer:
    """Capture a card in person once it is authorised (the iPad asks as soon as its Terminal
    SDK has confirmed); before that, the payment as it stands. A held capture (a card taken
    offline past the limits) needs ``payments.manage``: the manager's capture releases it."""
    async with transaction() as conn:
        claimed = await idempotency.claim(
            conn,
            restaurant_id=restaurant_id,
            key=key,
            operation=f"POST {payment_id}/capture",
            body=body,
        )
        if isinstance(claimed, idempotency.Replay):
            return claimed.status_code, claimed.body
        row = await visible(conn, payment_id, restaurant_id, location_id)
        if claimed.resource_id is None:
            _check_collectable(row)
            if row["capture_hold"] is not None:
                if decide(Permission.payments_manage, role or DEVICE) != "allow":
                    raise e.CaptureHeld(field="capture_hold", capture_hold=row["capture_hold"])
                await conn.execute(
                    "UPDATE payments SET capture_hold = NULL WHERE id = $1", payment_id
                )
            await idempotency.attach(
                conn, restaurant_id=restaurant_id, key=key, resource=payment_id
            )

    async def take(provider: Provider, row: asyncpg.Record) -> ProviderPayment | None:
        if PaymentState(row["state"]) in ENDINGS:
            return None
        return await recovery.settle(provider, row, held=recovery.Held(), past_deadline=False)

    return await drive(restaurant_id, location_id, payment_id, key, 200, take)


async def capture_due(payment_id: UUID) -> None:
    """Capture a payment Stripe says is authorised, unless held (best effort: a failure here
    is retried by the sweep, whose ``recovery.settle`` captures the same way)."""
    async with connection() as conn:
        row = await conn.fetchrow(
            "SELECT p.*, o.number AS order_number FROM payments p"
            " JOIN orders o ON o.id = p.order_id WHERE p.id = $1",
            payment_id,
        )
    if (
        row is None
        or row["method"] != Method.card_present
        or row["state"] != PaymentState.authorizing
        or row["capture_hold"] is not None
        or row["provider_reference"] is None
    ):
        return
    try:
        result = await gateway.current().call(
            row["provider"],
            lambda p: recovery.settle(p, row, held=recovery.Held(), past_deadline=False),
        )
    except (ProviderUnavailable, ProviderRefused):
        return
    if result is not None:
        await record_outcome(payment_id, result, source="capture")


async def release_duplicate(payment_id: UUID, reference: str) -> None:
    """Cancel a second PaymentIntent a forward made for one card taken offline, so the card
    is charged once (an uncaptured authorisation is released, not refunded). Best effort:
    the sweep finds any left over in the same way (``settle_forwarded``)."""
    log.warning(
        "a card taken offline was forwarded twice: releasing the second",
        extra={"payment_id": str(payment_id), "reference": reference},
    )
    try:
        await gateway.current().call("stripe", lambda p: recovery.cancel_or_read(p, reference))
    except (ProviderUnavailable, ProviderRefused):
        return


def _check_collectable(row: asyncpg.Record) -> None:
    if row["method"] != Method.card_present:
        raise e.NotCollectable(f"a {row['method']} payment has no card in person")
    if PaymentState(row["state"]) in ENDINGS:
        raise e.NotCollectable(f"the payment is {row['state']}", field="state")


class _ReaderSaidNo(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
