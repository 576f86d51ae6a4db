"""The payer's side of pay by bank: our page behind the QR, then TrueLayer's hosted page.

TrueLayer needs the remitter's name, and from a client it does not regulate an email or a
phone number as well (docs.truelayer.com/docs/end-user-information-payments). A till does
not know the diner, so the QR opens a page of ours on the diner's phone that asks for them;
only then is the payment made at TrueLayer, and the phone is sent on to TrueLayer's hosted
page (bank choice, consent, the bank's app) and back to our result page.

- The QR's link carries a secret (``payer_token``) so a payment id alone starts nothing.
- What the payer typed is kept on the payment, so a create whose answer was lost is sent
  again with exactly the same body (TrueLayer refuses a reused key with another body); a
  second submission of the page reuses the first details.
- The payment's deadline restarts when it is made at TrueLayer: TrueLayer gives a payment
  15 minutes from its creation, and we must not cancel one the payer is approving.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg
import msgspec

from server.db.engine import connection, transaction
from server.payments import gateway, ledger, recovery
from server.payments.fees import Method
from server.payments.providers.base import Payer, ProviderRefused
from server.payments.services import record_outcome
from server.payments.states import ENDINGS, PaymentState
from server.settings import get_settings

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,63}$")
_PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")
"""E.164, as TrueLayer asks for a phone number: a plus, the country code, the number."""


class PayerRefused(Exception):
    """What the payer typed cannot be sent on; ``field`` says which box."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class NotPayable(Exception):
    """No such payment for this link (wrong id or token, or not pay by bank)."""


@dataclass(frozen=True)
class Stand:
    """A payment as the payer's page shows it."""

    payment_id: UUID
    state: PaymentState
    amount: int
    currency: str
    restaurant: str
    order_number: str
    started: bool
    """The payer has given their details and the payment exists at TrueLayer."""
    bank_link: str | None
    """TrueLayer's hosted page for it, while it waits for the payer."""
    expires_at: datetime | None
    failure_reason: str | None


def payer_from(name: str, email: str, phone: str) -> Payer:
    """The payer's details as TrueLayer takes them, or PayerRefused naming the box."""
    name, email, phone = name.strip(), email.strip(), re.sub(r"[\s()-]", "", phone)
    if not 2 <= len(name) <= 140 or any(not c.isprintable() for c in name):
        raise PayerRefused("Please give your name as your bank knows it.", field="name")
    if email and not _EMAIL.match(email):
        raise PayerRefused("That email address does not look right.", field="email")
    if phone.startswith("0") and len(phone) == 11:
        phone = "+44" + phone[1:]  # a UK number typed as dialled at home
    if phone and not _PHONE.match(phone):
        raise PayerRefused("Give the number with its country code, e.g. +44…", field="phone")
    if not email and not phone:
        raise PayerRefused("An email address or a phone number is needed.", field="email")
    return Payer(name=name, email=email or None, phone=phone or None)


async def stand(payment_id: UUID, token: str) -> Stand:
    async with connection() as conn:
        return _stand(await _row(conn, payment_id, token))


async def stand_at_return(reference: str) -> Stand:
    """The payment TrueLayer's hosted page returned the payer from (its payment id)."""
    async with connection() as conn:
        row = await conn.fetchrow(
            f"{_SELECT} WHERE p.provider = 'open_banking' AND p.provider_reference = $1",
            reference,
        )
    if row is None:
        raise NotPayable(reference)
    return _stand(row)


async def start(payment_id: UUID, token: str, payer: Payer) -> Stand:
    """Make the payment at TrueLayer with the payer's details (once), and say where it is.

    Raises ProviderUnavailable when TrueLayer cannot be reached (the page offers a retry,
    which sends the same create with the same key)."""
    async with transaction() as conn:
        row = await _row(conn, payment_id, token, lock=True)
        late = row["expires_at"] is not None and row["expires_at"] < datetime.now(UTC)
        if PaymentState(row["state"]) in ENDINGS or (row["payer"] is None and late):
            return _stand(row)
        if row["payer"] is None:
            account = await conn.fetchval(
                "SELECT merchant_account_id FROM merchant_accounts"
                " WHERE restaurant_id = $1 AND currency = $2",
                row["restaurant_id"],
                row["currency"].strip(),
            )
            await conn.execute(
                "UPDATE payments SET payer = $2, merchant_account_id = $3,"
                " expires_at = now() + $4::interval, updated_at = now() WHERE id = $1",
                payment_id,
                msgspec.json.encode(payer).decode(),
                account,
                timedelta(seconds=get_settings().payment_qr_ttl_seconds),
            )
        row = await _row(conn, payment_id, token)
    if row["provider_reference"] is not None:
        return _stand(row)
    try:
        result = await gateway.current().call(
            "open_banking",
            lambda p: recovery.settle(p, row, held=recovery.Held(), past_deadline=False),
        )
    except ProviderRefused as exc:
        result = recovery.refused(exc.reason)
    if result is not None:
        await record_outcome(payment_id, result, source="payer")
    return await stand(payment_id, token)


_SELECT = (
    "SELECT p.*, o.number AS order_number, r.name AS restaurant_name FROM payments p"
    " JOIN orders o ON o.id = p.order_id JOIN restaurants r ON r.id = p.restaurant_id"
)


async def _row(
    conn: asyncpg.Connection, payment_id: UUID, token: str, *, lock: bool = False
) -> asyncpg.Record:
    if lock:
        await ledger.lock_payment(conn, payment_id)
    row = await conn.fetchrow(f"{_SELECT} WHERE p.id = $1", payment_id)
    if (
        row is None
        or row["method"] != Method.open_banking
        or row["payer_token"] is None
        or not hmac.compare_digest(row["payer_token"].encode(), token.encode())
    ):
        raise NotPayable(str(payment_id))
    return row


def _stand(row: asyncpg.Record) -> Stand:
    state = PaymentState(row["state"])
    return Stand(
        payment_id=row["id"],
        state=state,
        amount=row["charged"],
        currency=row["currency"].strip(),
        restaurant=row["restaurant_name"],
        order_number=row["order_number"],
        started=row["payer"] is not None,
        bank_link=row["link"] if state not in ENDINGS else None,
        expires_at=row["expires_at"],
        failure_reason=row["failure_reason"],
    )
