"""The sandbox's copy of TrueLayer's Payments API v3: create, read, cancel, refund.

Request and response shapes follow docs.truelayer.com/reference (``/v3/payments``) and are
written down in ``tests/fakes/truelayer-reference/payments.json``; every call needs an access
token, and every write a signature and an idempotency key (``_gate``). A create needs ``user``
with a name and an email or phone, and a merchant-account beneficiary in the payment's currency;
refusals are TrueLayer's 400 ``invalid-parameters`` problem with ``errors`` by field path.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath

from server.payments.fakes.open_banking_sandbox_bank import (
    PaymentStatus,
    SandboxPayment,
    SandboxRefund,
    invalid,
    rfc3339,
)
from server.payments.fakes.open_banking_sandbox_events import payment_source
from server.payments.fakes.open_banking_sandbox_gate import Sandbox, sandbox_of

T = TypeVar("T")


# UK statement references: at most 18 characters (docs.truelayer.com/docs/configure-a-statement-
# reference). TrueLayer defers to "the guidelines on special characters"; the stored copy does
# not list them, so the sandbox allows the set every UK scheme carries (see the reference README).
STATEMENT_REFERENCE = r"^[A-Za-z0-9 ./&-]{1,18}$"


class Beneficiary(msgspec.Struct, frozen=True, omit_defaults=True):
    type: Literal["merchant_account"]
    merchant_account_id: Annotated[str, msgspec.Meta(min_length=1)]
    statement_reference: Annotated[str, msgspec.Meta(pattern=STATEMENT_REFERENCE)] | None = None
    reference: Annotated[str, msgspec.Meta(min_length=1, max_length=140)] | None = None
    """An internal reference, not shown to the payer (the same docs page)."""
    account_holder_name: str | None = None
    verification: dict[str, Any] | None = None


class PaymentMethod(msgspec.Struct, frozen=True):
    type: Literal["bank_transfer"]
    provider_selection: dict[str, Any]
    beneficiary: Beneficiary


class User(msgspec.Struct, frozen=True, omit_defaults=True):
    id: str | None = None
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    date_of_birth: str | None = None
    address: dict[str, Any] | None = None


class NewPaymentBody(msgspec.Struct, frozen=True):
    amount_in_minor: Annotated[int, msgspec.Meta(gt=0)]
    currency: Literal["GBP", "EUR"]
    payment_method: PaymentMethod
    user: User
    metadata: dict[str, str] = {}
    retry: dict[str, Any] | None = None
    """Present: a failed attempt leaves the payment ``attempt_failed`` instead of ``failed``."""


class NewRefundBody(msgspec.Struct, frozen=True):
    amount_in_minor: Annotated[int, msgspec.Meta(gt=0)]
    # TrueLayer caps a refund reference at 18 characters (it lands on a bank statement).
    reference: Annotated[str, msgspec.Meta(min_length=1, max_length=18)]
    metadata: dict[str, str] = {}


@post("/v3/payments")
async def create_payment(request: Request[Any, Any, Any]) -> Response[bytes]:
    sandbox = sandbox_of(request)

    def create(body: bytes) -> tuple[int, Any]:
        new = _decode(body, NewPaymentBody)
        _check_user(new.user)
        beneficiary = new.payment_method.beneficiary
        payment = sandbox.bank.create(
            amount_in_minor=new.amount_in_minor,
            currency=new.currency,
            payment_method=msgspec.to_builtins(new.payment_method),
            merchant_account_id=beneficiary.merchant_account_id,
            metadata=new.metadata,
            user=msgspec.to_builtins(new.user),
            retry=new.retry is not None,
        )
        return 201, {
            "id": payment.id,
            "user": {"id": payment.user_id},
            "resource_token": payment.resource_token,
            "status": payment.status,
        }

    return await sandbox.signed(request, create)


def _check_user(user: User) -> None:
    """TrueLayer needs the payer's name and an email or phone from a client it does not
    regulate (docs.truelayer.com/docs/end-user-information-payments)."""
    errors: dict[str, list[str]] = {}
    if not (user.name or "").strip():
        errors["user.name"] = ["the payer's name is required"]
    if not (user.email or "").strip() and not (user.phone or "").strip():
        errors["user.email"] = ["an email or a phone number is required"]
    if errors:
        raise invalid(errors)


@get("/v3/payments/{payment_id:str}")
async def read_payment(
    request: Request[Any, Any, Any], payment_id: FromPath[str]
) -> Response[bytes]:
    sandbox = sandbox_of(request)
    return await sandbox.unsigned(
        request, lambda: (200, payment_view(sandbox, sandbox.bank.payment(payment_id)))
    )


@post("/v3/payments/{payment_id:str}/actions/cancel")
async def cancel_payment(
    request: Request[Any, Any, Any], payment_id: FromPath[str]
) -> Response[bytes]:
    sandbox = sandbox_of(request)

    def cancel(_: bytes) -> tuple[int, Any]:
        sandbox.bank.cancel(payment_id)
        return 202, None

    return await sandbox.signed(request, cancel)


@post("/v3/payments/{payment_id:str}/refunds")
async def create_refund(
    request: Request[Any, Any, Any], payment_id: FromPath[str]
) -> Response[bytes]:
    sandbox = sandbox_of(request)

    def refund(body: bytes) -> tuple[int, Any]:
        new = _decode(body, NewRefundBody)
        created = sandbox.bank.create_refund(
            payment_id,
            amount_in_minor=new.amount_in_minor,
            reference=new.reference,
            metadata=new.metadata,
        )
        return 201, {"id": created.id}

    return await sandbox.signed(request, refund)


@get("/v3/payments/{payment_id:str}/refunds")
async def list_refunds(
    request: Request[Any, Any, Any], payment_id: FromPath[str]
) -> Response[bytes]:
    sandbox = sandbox_of(request)
    return await sandbox.unsigned(
        request,
        lambda: (
            200,
            {"items": [refund_view(r) for r in sandbox.bank.payment(payment_id).refunds]},
        ),
    )


@get("/v3/payments/{payment_id:str}/refunds/{refund_id:str}")
async def read_refund(
    request: Request[Any, Any, Any], payment_id: FromPath[str], refund_id: FromPath[str]
) -> Response[bytes]:
    sandbox = sandbox_of(request)
    return await sandbox.unsigned(
        request, lambda: (200, refund_view(sandbox.bank.refund(payment_id, refund_id)))
    )


def payment_view(sandbox: Sandbox, payment: SandboxPayment) -> dict[str, Any]:
    """A payment as ``GET /v3/payments/{id}`` shows it: the fields of its status and no others
    (docs.truelayer.com/docs/payment-statuses-for-payments-v3)."""
    view: dict[str, Any] = {
        "id": payment.id,
        "amount_in_minor": payment.amount_in_minor,
        "currency": payment.currency,
        "user": {"id": payment.user_id},
        "payment_method": payment.payment_method,
        "created_at": rfc3339(payment.created_at),
        "status": payment.status,
        "metadata": payment.metadata,
    }
    for name in ("authorized_at", "executed_at", "settled_at"):
        moment = getattr(payment, name)
        if moment is not None:
            view[name] = rfc3339(moment)
    if payment.status is PaymentStatus.settled:
        view["payment_source"] = payment_source(payment)
    if payment.status in (PaymentStatus.failed, PaymentStatus.attempt_failed):
        view["failed_at"] = rfc3339(payment.failed_at or payment.created_at)
        view["failure_stage"] = payment.failure_stage
        view["failure_reason"] = payment.failure_reason
    return view


def refund_view(refund: SandboxRefund) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": refund.id,
        "amount_in_minor": refund.amount_in_minor,
        "currency": refund.currency,
        "reference": refund.reference,
        "metadata": refund.metadata,
        "created_at": rfc3339(refund.created_at),
        "status": refund.status,
    }
    if refund.executed_at is not None:
        view["executed_at"] = rfc3339(refund.executed_at)
    if refund.failed_at is not None:
        view["failed_at"] = rfc3339(refund.failed_at)
        view["failure_reason"] = refund.failure_reason
    return view


def _decode(body: bytes, kind: type[T]) -> T:
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as exc:
        # msgspec names the field as "at `$.user.name`"; TrueLayer keys errors by that path.
        message = str(exc)
        path = message.rsplit("`$.", 1)[1].rstrip("`") if "`$." in message else "body"
        raise invalid({path: [message]}) from exc
    except msgspec.DecodeError as exc:
        raise invalid({"body": [str(exc)]}) from exc
