"""Taking a payment: create, confirm a card, cancel, and read back.

Every mutating call follows the same three steps, so a lost answer or a crash at any point
can be retried with the same ``Idempotency-Key`` without charging twice:

1. one transaction claims the key and writes the payment row (state ``created``), so a
   webhook that beats our own answer always finds its payment;
2. the provider is called outside any transaction, with an idempotency key derived from
   the payment id (a retry reaches the same provider object);
3. one transaction records what the provider said and stores the answer under the key.

A retry of a request whose provider answer was lost does not repeat step 2 blindly: it
carries the payment on by the rule in ``recovery`` (find the provider's object, read where
it stands, confirm it with the card we hold or cancel it), so it ends as the first attempt
would have. A new confirm of a payment that has ended is refused (``NotConfirmable``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import asyncpg
import msgspec

from server.db.engine import connection, transaction
from server.errors import NotFound, ValidationFailed
from server.payments import gateway, idempotency, ledger, qr, recovery
from server.payments import schemas as s
from server.payments.errors import (
    ExceedsRemaining,
    NotCancelable,
    NotConfirmable,
    OrderNotPayable,
    ProviderDown,
)
from server.payments.fees import Method, fee_for
from server.payments.gateway import PROVIDER_OF
from server.payments.providers.base import (
    ConfirmsCards,
    Provider,
    ProviderPayment,
    ProviderRefused,
    ProviderUnavailable,
    Settlement,
)
from server.payments.quotes import schedule, surcharge_for, surcharge_policy
from server.payments.states import ENDINGS, PaymentState
from server.payments.views import load_order_payments, load_payment
from server.settings import get_settings

Answer = tuple[int, bytes]
"""Status code and JSON body, exactly as stored for replays."""


async def create_payment(
    *,
    restaurant_id: UUID,
    location_id: UUID | None,
    employee_id: UUID | None,
    device_id: UUID | None,
    data: s.CreatePayment,
    key: str,
    body: bytes,
) -> Answer:
    _check_method_fields(data)
    try:  # a method with no provider configured is refused before anything is written
        gateway.current().provider(PROVIDER_OF[data.method])
    except ProviderUnavailable as exc:
        raise ProviderDown(str(exc)) from exc
    async with transaction() as conn:
        claimed = await idempotency.claim(
            conn,
            restaurant_id=restaurant_id,
            key=key,
            operation="POST /api/v1/payments",
            body=body,
        )
        if isinstance(claimed, idempotency.Replay):
            return claimed.status_code, claimed.body
        payment_id = claimed.resource_id
        resumed = payment_id is not None
        if payment_id is None:
            payment_id = await _insert_payment(
                conn, restaurant_id, location_id, employee_id, device_id, data
            )
            await idempotency.attach(
                conn, restaurant_id=restaurant_id, key=key, resource=payment_id
            )
        else:
            # Queue behind a poller that may be deciding this payment never reached its
            # provider, so this retry then sees that ending and calls nobody.
            await ledger.lock_payment(conn, payment_id)
    held = recovery.Held(payment_method=data.payment_method, wallet_token=data.wallet_token)

    async def start(provider: Provider, row: asyncpg.Record) -> ProviderPayment | None:
        if PaymentState(row["state"]) in ENDINGS:
            return None  # ended meanwhile (a webhook, the poller): answered as it stands
        if row["method"] == Method.open_banking:
            # Made at the provider only once the payer gives their details on our page
            # (``payer``); until then the QR waits.
            waiting = ProviderPayment(reference="", state=PaymentState.awaiting_customer)
            return waiting if row["state"] == PaymentState.created else None
        if resumed:  # the first attempt's answer was lost somewhere: carry on from there
            return await _settle(provider, row, held)
        result = await provider.create(recovery.new_payment(row, data.wallet_token))
        if data.payment_method and result.state is PaymentState.awaiting_customer:
            result = await _confirm(provider, result.reference, data.payment_method)
        return result

    return await drive(restaurant_id, location_id, payment_id, key, 201, start)


async def confirm_card(
    *,
    restaurant_id: UUID,
    location_id: UUID | None,
    payment_id: UUID,
    data: s.ConfirmCard,
    key: str,
    body: bytes,
) -> Answer:
    """Charge a card payment with the PaymentMethod the iPad's card reader produced.

    Only a card payment that has not ended can be confirmed; the retry of a confirm (same
    key) whose answer was lost gets that confirm's outcome, even once the payment has ended.
    """
    async with transaction() as conn:
        claimed = await idempotency.claim(
            conn,
            restaurant_id=restaurant_id,
            key=key,
            operation=f"POST {payment_id}/confirm",
            body=body,
        )
        if isinstance(claimed, idempotency.Replay):
            return claimed.status_code, claimed.body
        row = await visible(conn, payment_id, restaurant_id, location_id)
        if claimed.resource_id is None:  # a new confirm, not the retry of one
            if row["method"] != Method.card:
                raise NotConfirmable(f"a {row['method']} payment takes no card")
            if PaymentState(row["state"]) in ENDINGS:
                raise NotConfirmable(f"the payment is {row['state']}", field="state")
            # Held, so whoever resumes this payment charges the same card, with the same key.
            await conn.execute(
                "UPDATE payments SET payment_method = $2 WHERE id = $1",
                payment_id,
                data.payment_method,
            )
            await idempotency.attach(
                conn, restaurant_id=restaurant_id, key=key, resource=payment_id
            )
    held = recovery.Held(payment_method=data.payment_method)

    async def confirm(provider: Provider, row: asyncpg.Record) -> ProviderPayment | None:
        if PaymentState(row["state"]) in ENDINGS:
            return None
        reference = row["provider_reference"]
        if reference is None or _late(row):  # its create's answer was lost, or time is up
            return await _settle(provider, row, held)
        return await _confirm(provider, reference, data.payment_method)

    return await drive(restaurant_id, location_id, payment_id, key, 200, confirm)


async def cancel_payment(
    *, restaurant_id: UUID, location_id: UUID | None, payment_id: UUID, key: str, body: bytes
) -> Answer:
    """Stop a payment still waiting for the customer (a QR nobody will scan).

    A payment whose create's answer was lost is found at the provider first and canceled
    there, so it cannot go on to take the money; only if the provider cannot be reached is
    it canceled here alone (``fynlo reconcile`` lists any money it took all the same).
    """
    async with transaction() as conn:
        claimed = await idempotency.claim(
            conn,
            restaurant_id=restaurant_id,
            key=key,
            operation=f"POST {payment_id}/cancel",
            body=body,
        )
        if isinstance(claimed, idempotency.Replay):
            return claimed.status_code, claimed.body
        row = await visible(conn, payment_id, restaurant_id, location_id)
        ended = PaymentState(row["state"]) in ENDINGS
        if claimed.resource_id is None and ended and row["state"] != PaymentState.canceled:
            raise NotCancelable(field="state")
        await idempotency.attach(conn, restaurant_id=restaurant_id, key=key, resource=payment_id)

    async def cancel(provider: Provider, row: asyncpg.Record) -> ProviderPayment | None:
        if PaymentState(row["state"]) in ENDINGS:
            return None
        try:
            found = await recovery.locate(provider, row, recovery.Held(), make=False)
        except ProviderRefused:
            found = None  # it refuses to make this payment: there is nothing to cancel
        except ProviderUnavailable:
            if row["provider_reference"] is not None:
                raise
            found = None  # the provider cannot say whether it ever heard of it
        if found is None:
            return ProviderPayment(reference="", state=PaymentState.canceled)
        return await recovery.cancel_or_read(provider, found.reference)

    return await drive(restaurant_id, location_id, payment_id, key, 200, cancel)


async def drive(
    restaurant_id: UUID,
    location_id: UUID | None,
    payment_id: UUID,
    key: str,
    status_code: int,
    action: Callable[[Provider, asyncpg.Record], Awaitable[ProviderPayment | None]],
) -> Answer:
    """Steps 2 and 3: call the provider for ``payment_id`` and store the outcome and answer.

    ``action`` answers None when there is nothing to ask the provider (the payment has
    ended): the answer is then the payment as it stands.
    """
    async with connection() as conn:
        row = await conn.fetchrow(
            "SELECT p.*, o.number AS order_number FROM payments p"
            " JOIN orders o ON o.id = p.order_id WHERE p.id = $1",
            payment_id,
        )
    assert row is not None
    result: ProviderPayment | None
    try:
        result = await gateway.current().call(row["provider"], lambda p: action(p, row))
    except ProviderUnavailable as exc:
        async with transaction() as conn:
            await idempotency.release(conn, restaurant_id=restaurant_id, key=key)
        raise ProviderDown(str(exc), retry_after_seconds=5) from exc
    except ProviderRefused as exc:
        result = ProviderPayment(
            reference=row["provider_reference"] or "",
            state=PaymentState.failed,
            failure_reason=exc.reason,
        )
    async with transaction() as conn:
        if result is not None:  # the outcome and the answer commit together
            await record_outcome_in(conn, payment_id, result, source="api")
        view = await load_payment(
            conn, payment_id, restaurant_id=restaurant_id, location_id=location_id
        )
        body = msgspec.json.encode(view)
        await idempotency.finish(
            conn, restaurant_id=restaurant_id, key=key, status_code=status_code, body=body
        )
    return status_code, body


async def record_outcome(payment_id: UUID, result: ProviderPayment, *, source: str) -> bool:
    """Apply what a provider said about a payment; True if the state moved."""
    async with transaction() as conn:
        return await record_outcome_in(conn, payment_id, result, source=source)


async def record_outcome_in(
    conn: asyncpg.Connection, payment_id: UUID, result: ProviderPayment, *, source: str
) -> bool:
    """``record_outcome`` inside the caller's transaction."""
    row = await ledger.lock_payment(conn, payment_id)
    assert row is not None
    if result.link or result.client_secret:
        await conn.execute(
            "UPDATE payments SET link = coalesce(link, $2),"
            " client_secret = coalesce(client_secret, $3) WHERE id = $1",
            payment_id,
            result.link,
            result.client_secret,
        )
    if result.tip and row["method"] == Method.card_present and result.tip != row["tip"]:
        await _take_reader_tip(conn, row, result.tip)
    moved = await ledger.move_payment(
        conn,
        row,
        result.state,
        source=source,
        failure_reason=result.failure_reason,
        provider_fee=result.provider_fee,
        reference=result.reference or None,
    )
    if result.settlement is not None:
        moved |= await ledger.record_settlement(conn, payment_id, result.settlement, source=source)
    return moved


async def _take_reader_tip(conn: asyncpg.Connection, row: asyncpg.Record, tip: int) -> None:
    """A tip the customer added on the reader: recorded apart from the bill, with the fees
    worked out again on what the card is charged."""
    charged = row["amount"] + tip + row["surcharge"]
    fees = fee_for(charged, Method.card_present, schedule())
    await conn.execute(
        "UPDATE payments SET tip = $2, estimated_provider_fee = $3, platform_fee = $4"
        " WHERE id = $1",
        row["id"],
        tip,
        fees.provider_fee,
        fees.platform_fee,
    )


async def _confirm(provider: Provider, reference: str, payment_method: str) -> ProviderPayment:
    if not isinstance(provider, ConfirmsCards):
        raise ProviderRefused("this provider confirms no cards", reason="not_a_card_provider")
    return await provider.confirm(reference, payment_method)


async def _settle(provider: Provider, row: asyncpg.Record, held: recovery.Held) -> ProviderPayment:
    """A request carrying on a payment whose answer was lost (``recovery``'s rule). Past the
    deadline nothing is made at the provider, so one it has no trace of has ended: this
    request holds its key, so no other request is making it."""
    result = await recovery.settle(provider, row, held=held, past_deadline=_late(row))
    return result if result is not None else recovery.never_reached()


def _late(row: asyncpg.Record) -> bool:
    """Past its deadline: a QR's time, or a card's (``recovery.CARD_DEADLINE``)."""
    deadline: datetime | None = row["expires_at"]
    return deadline is not None and deadline < datetime.now(UTC)


def _check_method_fields(data: s.CreatePayment) -> None:
    if (data.tendered is not None) != (data.method is Method.cash):
        raise ValidationFailed("tendered is required for cash, and only for cash", field="tendered")
    if data.tendered is not None and data.tendered < data.amount + data.tip:
        raise ValidationFailed("tendered must cover the amount and the tip", field="tendered")
    if (data.wallet_token is not None) != (data.method is Method.apple_pay):
        raise ValidationFailed(
            "wallet_token is required for apple_pay, and only for apple_pay", field="wallet_token"
        )
    if data.payment_method is not None and data.method is not Method.card:
        raise ValidationFailed("payment_method is only for card", field="payment_method")


async def _insert_payment(
    conn: asyncpg.Connection,
    restaurant_id: UUID,
    location_id: UUID | None,
    employee_id: UUID | None,
    device_id: UUID | None,
    data: s.CreatePayment,
) -> UUID:
    order = await conn.fetchrow(
        "SELECT id, location_id, status, total_due, currency FROM orders"
        " WHERE id = $1 AND restaurant_id = $2 AND ($3::uuid IS NULL OR location_id = $3)"
        " FOR UPDATE",  # payments on one order queue here, so two cannot both take the rest
        data.order_id,
        restaurant_id,
        location_id,
    )
    if order is None:
        raise ValidationFailed("no such order", field="order_id")
    if order["status"] in ("paid", "voided"):
        raise OrderNotPayable(f"the order is {order['status']}", field="order_id")
    remaining = (
        order["total_due"]
        - await ledger.paid_towards(conn, order["id"])
        - await ledger.in_flight_towards(conn, order["id"])
    )
    if data.amount > remaining:
        raise ExceedsRemaining(
            f"{remaining} is left to pay (payments in progress count until they end)",
            field="amount",
            remaining=remaining,
        )
    policy = await surcharge_policy(conn, restaurant_id)
    surcharge = (
        surcharge_for(data.amount + data.tip, data.method, policy) if data.accept_surcharge else 0
    )
    fees = fee_for(data.amount + data.tip + surcharge, data.method, schedule())
    payment_id = uuid4()
    await conn.execute(
        "INSERT INTO payments (id, restaurant_id, location_id, order_id, method, provider, state,"
        " currency, amount, tip, surcharge, tendered, fee_schedule, estimated_provider_fee,"
        " platform_fee, expires_at, employee_id, device_id, payment_method, payer_token)"
        " VALUES ($1, $2, $3, $4, $5, $6, 'created', $7, $8, $9, $10, $11, $12, $13, $14, $15,"
        " $16, $17, $18, $19)",
        payment_id,
        restaurant_id,
        order["location_id"],
        order["id"],
        data.method,
        PROVIDER_OF[data.method],
        order["currency"],
        data.amount,
        data.tip,
        surcharge,
        data.tendered,
        schedule().version,
        fees.provider_fee,
        fees.platform_fee,
        _deadline(data.method),
        employee_id,
        device_id,
        data.payment_method,
        qr.new_token() if data.method is Method.open_banking else None,
    )
    return payment_id


def _deadline(method: Method) -> datetime | None:
    """When a payment still waiting is canceled at its provider: a QR code's time for pay by
    bank, ``recovery.CARD_DEADLINE`` for cards and Apple Pay; cash never waits. A card in
    person authorised by then is captured, not canceled (``recovery.settle``)."""
    now = datetime.now(UTC)
    if method is Method.open_banking:
        return now + timedelta(seconds=get_settings().payment_qr_ttl_seconds)
    if method in (Method.card, Method.card_present, Method.apple_pay):
        return now + recovery.CARD_DEADLINE
    return None


async def visible(
    conn: asyncpg.Connection, payment_id: UUID, restaurant_id: UUID, location_id: UUID | None
) -> asyncpg.Record:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM payments WHERE id = $1 AND restaurant_id = $2"
        " AND ($3::uuid IS NULL OR location_id = $3) FOR UPDATE",
        payment_id,
        restaurant_id,
        location_id,
    )
    if row is None:
        raise NotFound("no such payment")
    return row


async def get_payment(
    *, restaurant_id: UUID, location_id: UUID | None, payment_id: UUID
) -> s.Payment:
    async with connection() as conn:
        return await load_payment(
            conn, payment_id, restaurant_id=restaurant_id, location_id=location_id
        )


async def order_payments(
    *, restaurant_id: UUID, location_id: UUID | None, order_id: UUID
) -> s.OrderPayments:
    """Everything paid, waiting and refunded on one order: what the till shows at the end."""
    async with connection() as conn:
        order = await conn.fetchrow(
            "SELECT id, status, total_due, currency FROM orders WHERE id = $1"
            " AND restaurant_id = $2 AND ($3::uuid IS NULL OR location_id = $3)",
            order_id,
            restaurant_id,
            location_id,
        )
        if order is None:
            raise NotFound("no such order")
        payments = await load_order_payments(conn, order_id)
    # Money reversed went back to the payer: it pays nothing (``ledger.COVERS``).
    succeeded = [
        p
        for p in payments
        if p.state is PaymentState.succeeded and p.settlement is not Settlement.reversed
    ]
    paid = sum(p.amount for p in succeeded)
    in_flight = sum(p.amount for p in payments if p.state not in ENDINGS)
    return s.OrderPayments(
        order_id=order_id,
        currency=order["currency"],
        total_due=order["total_due"],
        paid=paid,
        in_flight=in_flight,
        remaining=max(0, order["total_due"] - paid - in_flight),
        tips=sum(p.tip for p in succeeded),
        refunded=sum(p.refunded for p in payments),
        order_status=order["status"],
        payments=payments,
    )
