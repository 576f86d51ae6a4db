"""The bodies of the sandbox's webhooks, shaped like TrueLayer's payment and refund webhooks.

Every body has ``type``, ``event_id`` and ``event_version``
(docs.truelayer.com/docs/payment-webhooks); each type adds its own moment and ids:

    payment_authorized           authorized_at
    payment_executed             executed_at, user_id
    payment_creditable           creditable_at
    payment_settled              settled_at, merchant_account_id, payment_source, user_id
    payment_settlement_stalled   settlement_stalled_at
    payment_reversed             reversed_at
    payment_failed               failed_at, failure_stage, failure_reason
    refund_executed              executed_at, refund_id
    refund_failed                failed_at, failure_reason, refund_id

Payment events carry ``payment_id``, ``payment_method`` and the ``metadata`` the client sent;
refund events carry ``refund_id``, ``payment_id`` and the refund's ``metadata``. The shapes
the sandbox is held to are in ``tests/fakes/truelayer-reference/payments.json``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from server.payments.fakes.open_banking_sandbox_bank import SandboxPayment, SandboxRefund

# TrueLayer's sandbox "mock" bank account: every sandbox customer pays from it.
CUSTOMER_ACCOUNT = [
    {"type": "sort_code_account_number", "sort_code": "040668", "account_number": "00000871"},
    {"type": "iban", "iban": "GB75CLRB04066800000871"},
]


def payment_event(kind: str, payment: SandboxPayment, **fields: Any) -> dict[str, Any]:
    """A payment webhook body; datetimes in ``fields`` are written as TrueLayer writes them."""
    return {
        "type": kind,
        "event_id": str(uuid.uuid4()),
        "event_version": 1,
        "payment_id": payment.id,
        "payment_method": {"type": payment.payment_method.get("type", "bank_transfer")},
        "metadata": payment.metadata,
        **{name: _written(value) for name, value in fields.items() if value is not None},
    }


def refund_event(kind: str, refund: SandboxRefund, **fields: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "event_id": str(uuid.uuid4()),
        "event_version": 1,
        "payment_id": refund.payment_id,
        "refund_id": refund.id,
        "metadata": refund.metadata,
        **{name: _written(value) for name, value in fields.items() if value is not None},
    }


def payment_source(payment: SandboxPayment) -> dict[str, Any]:
    """The payer's account, as the merchant account saw the money arrive from it."""
    return {
        "id": f"source-{payment.user_id}",
        "account_holder_name": payment.payer_name,
        "account_identifiers": CUSTOMER_ACCOUNT,
    }


def rfc3339(moment: datetime) -> str:
    """UTC with milliseconds and a ``Z``, the way TrueLayer writes its timestamps."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _written(value: Any) -> Any:
    return rfc3339(value) if isinstance(value, datetime) else value
