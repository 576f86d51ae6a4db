"""Merchant accounts and their transactions: money in from settled payments, out by refunds.

``GET /v3/merchant-accounts`` lists the accounts (one per currency) and
``GET /v3/merchant-accounts/{id}`` shows one (``open_banking_sandbox_accounts``).
``GET /v3/merchant-accounts/{id}/transactions?from=…&to=…``, both ends inclusive, lists its
movements a page at a time with ``cursor`` = the last page's ``pagination.next_cursor``
(docs.truelayer.com/docs/get-your-merchant-account-transactions-or-payment-sources). A settled
payment is a ``merchant_account_payment`` with status ``settled`` whose own ``id`` differs from
its ``payment_id``; an executed refund is a ``refund`` with status ``executed``
(TrueLayer/truelayer-dotnet ``MerchantAccounts/Model/GetTransactions.cs``). No transaction
carries a fee: TrueLayer reports none per movement, so neither does the sandbox.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import msgspec
from litestar import Request, Response, get
from litestar.params import FromPath

from server.payments.fakes.open_banking_sandbox_bank import (
    SandboxPayment,
    SandboxRefund,
    SandboxRefusal,
    rfc3339,
)
from server.payments.fakes.open_banking_sandbox_events import payment_source
from server.payments.fakes.open_banking_sandbox_gate import sandbox_of

_Key = tuple[datetime, str]


@get("/v3/merchant-accounts")
async def list_accounts(request: Request[Any, Any, Any]) -> Response[bytes]:
    sandbox = sandbox_of(request)
    return await sandbox.unsigned(
        request,
        lambda: (200, {"items": [a.view() for a in sandbox.bank.accounts.values()]}),
    )


@get("/v3/merchant-accounts/{merchant_account_id:str}")
async def read_account(
    request: Request[Any, Any, Any], merchant_account_id: FromPath[str]
) -> Response[bytes]:
    sandbox = sandbox_of(request)

    def account() -> tuple[int, Any]:
        found = sandbox.bank.accounts.get(merchant_account_id)
        if found is None:
            raise SandboxRefusal(
                404, "not-found", "Not Found", f"no merchant account {merchant_account_id}"
            )
        sandbox.bank.sweep()
        return 200, found.view()

    return await sandbox.unsigned(request, account)


@get("/v3/merchant-accounts/{merchant_account_id:str}/transactions")
async def list_transactions(
    request: Request[Any, Any, Any], merchant_account_id: FromPath[str]
) -> Response[bytes]:
    sandbox = sandbox_of(request)
    query = request.query_params

    def page() -> tuple[int, Any]:
        since = _moment(query.get("from"), "from")
        until = _moment(query.get("to"), "to")
        after = _cursor_key(query.get("cursor"))
        payments, refunds = sandbox.bank.movements(merchant_account_id)
        rows = sorted(
            (row for row in _rows(payments, refunds) if since <= row[0][0] <= until),
            key=lambda row: row[0],
        )
        if after is not None:
            rows = [row for row in rows if row[0] > after]
        size = sandbox.transactions_page_size
        shown, more = rows[:size], len(rows) > size
        pagination = {"next_cursor": _cursor(shown[-1][0])} if more else {}
        return 200, {"items": [view for _, view in shown], "pagination": pagination}

    return await sandbox.unsigned(request, page)


def _rows(
    payments: list[SandboxPayment], refunds: Iterable[SandboxRefund]
) -> Iterable[tuple[_Key, dict[str, Any]]]:
    by_id = {payment.id: payment for payment in payments}
    for payment in payments:
        if payment.settled_at is not None and payment.transaction_id is not None:
            key = (payment.settled_at, payment.transaction_id)
            yield key, _payment_in(payment, settled_at=payment.settled_at)
    for refund in refunds:
        paid = by_id.get(refund.payment_id)
        if paid is not None and refund.executed_at is not None:
            key = (refund.executed_at, refund.id)
            yield key, _refund_out(refund, paid, executed_at=refund.executed_at)


def _payment_in(payment: SandboxPayment, *, settled_at: datetime) -> dict[str, Any]:
    return {
        "type": "merchant_account_payment",
        "id": payment.transaction_id,
        "currency": payment.currency,
        "amount_in_minor": payment.amount_in_minor,
        "status": "settled",
        "settled_at": rfc3339(settled_at),
        "payment_source": payment_source(payment) | {"user_id": payment.user_id},
        "payment_id": payment.id,
        "metadata": payment.metadata,
    }


def _refund_out(
    refund: SandboxRefund, payment: SandboxPayment, *, executed_at: datetime
) -> dict[str, Any]:
    return {
        "type": "refund",
        "id": refund.id,
        "currency": refund.currency,
        "amount_in_minor": refund.amount_in_minor,
        "status": "executed",
        "created_at": rfc3339(refund.created_at),
        "executed_at": rfc3339(executed_at),
        "beneficiary": {
            "type": "payment_source",
            "user_id": payment.user_id,
            "payment_source_id": f"source-{payment.user_id}",
            "reference": refund.reference,
        },
        "refund_id": refund.id,
        "payment_id": refund.payment_id,
        "metadata": refund.metadata,
    }


def _moment(value: str | None, name: str) -> datetime:
    if not value:
        raise _invalid(f"{name} is required")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _invalid(f"{name} is not an ISO 8601 timestamp: {value!r}") from None
    if moment.tzinfo is None:
        raise _invalid(f"{name} needs a UTC offset: {value!r}")
    return moment


def _cursor(key: _Key) -> str:
    """Opaque to the client: where the page ended, so new movements never shift a later page."""
    # Full precision, unlike the milliseconds shown: the key must match its row exactly.
    raw = msgspec.json.encode([key[0].isoformat(), key[1]])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor_key(cursor: str | None) -> _Key | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        moment, transaction_id = msgspec.json.decode(raw, type=tuple[datetime, str])
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise _invalid("cursor is not one this API gave out") from None
    return moment, transaction_id


def _invalid(detail: str) -> SandboxRefusal:
    return SandboxRefusal(400, "invalid-parameters", "Invalid Parameters", detail)
