"""The sandbox's copy of TrueLayer's Payments API v3: create, read, cancel, refund.

Request and response shapes follow docs.truelayer.com/reference (``/v3/payments``); every call
needs an access token, and every write a signature and an idempotency key (``_gate``).
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
    SandboxRefusal,
    rfc3339,
)
from server.payments.fakes.open_banking_sandbox_gate import Sandbox, sandbox_of

T = TypeVar("T")


class Beneficiary(msgspec.Struct, frozen=True, omit_defaults=True):
    type: Literal["merchant_account"]
    merchant_account_id: str
    reference: Annotated[str, msgspec.Meta(min_length=1, max_length=140)]
    account_holder_name: str | None = None


class PaymentMethod(msgspec.Struct, frozen=True):
    type: Literal["bank_transfer"]
    provider_selection: dict[str, Any]
    beneficiary: Beneficiary


class User(msgspec.Struct, frozen=True):
    id: str | None = None
    name: str | None = None
    email: str | None = None
    phone: str | None = None


class NewPaymentBody(msgspec.Struct, frozen=True):
    amount_in_minor: Annotated[int, msgspec.Meta(gt=0)]
    currency: Literal["GBP", "EUR"]
    payment_method: PaymentMethod
    user: User = User()
    metadata: dict[str, str] = {}


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
        payment = sandbox.bank.create(
            amount_in_minor=new.amount_in_minor,
            currency=new.currency,
            payment_method=msgspec.to_builtins(new.payment_method),
            metadata=new.metadata,
            user_id=new.user.id,
        )
        return 201, {
            "id": payment.id,
            "user": {"id": payment.user_id},
            "resource_token": payment.resource_token,
            "status": payment.status,
        }

    return await sandbox.signed(request, create)


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
    if payment.status is PaymentStatus.authorizing:
        page = (
            f"{sandbox.public_url}/checkout?payment_id={payment.id}"
            f"&resource_token={payment.resource_token}"
        )
        view["authorization_flow"] = {"actions": {"next": {"type": "redirect", "uri": page}}}
    for name in ("authorized_at", "executed_at", "failed_at"):
        moment = getattr(payment, name)
        if moment is not None:
            view[name] = rfc3339(moment)
    if payment.failure_reason is not None:
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
    except msgspec.DecodeError as exc:  # ValidationError is a DecodeError
        raise SandboxRefusal(400, "invalid-parameters", "Invalid Parameters", str(exc)) from exc
