"""Test controls under ``/_sandbox``: the clock, faults, payer and bank shortcuts, webhooks.

None of these exist at TrueLayer; they let a test play the payer, the banks and the passage of
time without a browser or a sleep. ``POST /_sandbox/payments/{id}/{action}``:

    open            the payer opened the hosted page (``authorizing``)
    approve         {"until": "authorized" | "executed" | "settled"}; ``settled`` (the default)
                    executes now and settles ``settle_seconds`` later; the others hold there
    execute         {"hold": bool}: an ``authorized`` payment executes (and settles later
                    unless held)
    settle          an ``executed`` payment settles now
    creditable      an ``executed`` payment is reported creditable before it settles
    stall           an ``executed`` payment stops settling (``payment_settlement_stalled``)
    reverse         a ``settled`` payment's money goes back to the payer (``payment_reversed``)
    decline         the bank refuses authorisation (``authorization_failed``)
    payer_cancel    the payer cancels (``user_canceled_at_provider``)
    reject          authorised, then refused by the bank (``provider_rejected``)
    attempt_fail    one attempt of a payment created with ``retry`` fails (``attempt_failed``)

``GET /_sandbox/payments/{id}`` shows a payment with the ``user`` as the client sent it.
``POST /_sandbox/merchant-accounts/{id}/balance`` {"delta_in_minor": n} tops an account up
(or, negative, sweeps money out as a payout would), so a test can hold refunds for balance.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

import msgspec
from litestar import Request, get, post
from litestar.params import FromPath, JSONBody

from server.payments.fakes.open_banking_sandbox_api import payment_view, refund_view
from server.payments.fakes.open_banking_sandbox_bank import (
    SandboxPayment,
    SandboxRefusal,
    rfc3339,
)
from server.payments.fakes.open_banking_sandbox_gate import MAX_DELAY_SECONDS, sandbox_of

T = TypeVar("T")
# A day is far beyond any expiry; a bigger jump is a typo in a test.
MAX_CLOCK_STEP_SECONDS = 86_400


class ClockStep(msgspec.Struct, frozen=True):
    seconds: Annotated[float, msgspec.Meta(ge=0, le=MAX_CLOCK_STEP_SECONDS)]


class FaultPlan(msgspec.Struct, frozen=True):
    fail_next: Annotated[int, msgspec.Meta(ge=0)] | None = None
    delay_next: Annotated[int, msgspec.Meta(ge=0)] | None = None
    delay_seconds: Annotated[float, msgspec.Meta(ge=0, le=MAX_DELAY_SECONDS)] | None = None
    delay_path: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class Redelivery(msgspec.Struct, frozen=True):
    id: int


class Approval(msgspec.Struct, frozen=True):
    until: Literal["authorized", "executed", "settled"] = "settled"


class Execution(msgspec.Struct, frozen=True):
    hold: bool = False


class BalanceChange(msgspec.Struct, frozen=True):
    delta_in_minor: int


@post("/_sandbox/clock/advance", status_code=200)
async def advance_clock(
    request: Request[Any, Any, Any], data: JSONBody[ClockStep]
) -> dict[str, Any]:
    bank = sandbox_of(request).bank
    bank.clock.advance(data.seconds)
    bank.sweep()
    return {"now": rfc3339(bank.clock.now())}


@post("/_sandbox/faults", status_code=200)
async def plan_faults(request: Request[Any, Any, Any], data: JSONBody[FaultPlan]) -> dict[str, Any]:
    faults = sandbox_of(request).faults
    if data.fail_next is not None:
        faults.fail_next = data.fail_next
    if data.delay_next is not None:
        faults.delay_next = data.delay_next
    if data.delay_seconds is not None:
        faults.delay_seconds = data.delay_seconds
    if data.delay_path is not None:
        faults.delay_path = data.delay_path
    return faults.to_json()


@get("/_sandbox/stats")
async def stats(request: Request[Any, Any, Any]) -> dict[str, Any]:
    sandbox = sandbox_of(request)
    return sandbox.bank.stats() | {
        "api_requests": sandbox.api_requests,
        "tokens_issued": sandbox.tokens.issued,
        "webhooks": len(sandbox.outbox.deliveries),
    }


@post("/_sandbox/payments/{payment_id:str}/{action:str}", status_code=200)
async def act_as_customer(
    request: Request[Any, Any, Any], payment_id: FromPath[str], action: FromPath[str]
) -> dict[str, Any]:
    """One of the actions in the module docstring, on one payment; answers the payment."""
    sandbox = sandbox_of(request)
    bank = sandbox.bank
    body = await request.body()
    actions: dict[str, Callable[[], SandboxPayment]] = {
        "open": lambda: bank.open_page(payment_id),
        "approve": lambda: bank.approve(payment_id, _options(body, Approval).until),
        "execute": lambda: bank.execute(payment_id, hold=_options(body, Execution).hold),
        "settle": lambda: bank.settle(payment_id),
        "creditable": lambda: bank.make_creditable(payment_id),
        "stall": lambda: bank.stall(payment_id),
        "reverse": lambda: bank.reverse(payment_id),
        "decline": lambda: bank.decline(payment_id),
        "payer_cancel": lambda: bank.payer_cancel(payment_id),
        "reject": lambda: bank.reject(payment_id),
        "attempt_fail": lambda: bank.attempt_fail(payment_id),
    }
    if action not in actions:
        raise SandboxRefusal(404, "not-found", "Not Found", f"no action {action}")
    return payment_view(sandbox, actions[action]())


@get("/_sandbox/payments/{payment_id:str}")
async def inspect_payment(
    request: Request[Any, Any, Any], payment_id: FromPath[str]
) -> dict[str, Any]:
    """The payment as ``GET /v3/payments/{id}`` shows it, with the ``user`` as the client sent
    it (TrueLayer shows only its id), so a test can see what reached the bank."""
    sandbox = sandbox_of(request)
    payment = sandbox.bank.payment(payment_id)
    return payment_view(sandbox, payment) | {"user": {"id": payment.user_id} | payment.user}


@post("/_sandbox/merchant-accounts/{account_id:str}/balance", status_code=200)
async def change_balance(
    request: Request[Any, Any, Any], account_id: FromPath[str], data: JSONBody[BalanceChange]
) -> dict[str, Any]:
    bank = sandbox_of(request).bank
    account = bank.accounts.get(account_id)
    if account is None:
        raise SandboxRefusal(404, "not-found", "Not Found", f"no merchant account {account_id}")
    account.credit(data.delta_in_minor)
    bank.sweep()
    return account.view()


@post("/_sandbox/refunds/{refund_id:str}/fail", status_code=200)
async def fail_refund(request: Request[Any, Any, Any], refund_id: FromPath[str]) -> dict[str, Any]:
    return refund_view(sandbox_of(request).bank.fail_refund(refund_id))


@get("/_sandbox/webhooks")
async def list_webhooks(request: Request[Any, Any, Any]) -> dict[str, Any]:
    deliveries = sandbox_of(request).outbox.deliveries
    return {"items": [delivery.to_json() for delivery in deliveries]}


@post("/_sandbox/webhooks/redeliver", status_code=200)
async def redeliver_webhook(
    request: Request[Any, Any, Any], data: JSONBody[Redelivery]
) -> dict[str, Any]:
    delivery = sandbox_of(request).outbox.redeliver(data.id)
    if delivery is None:
        raise SandboxRefusal(404, "not-found", "Not Found", f"no webhook {data.id}")
    return delivery.to_json()


def _options(body: bytes, kind: type[T]) -> T:
    """A control's optional JSON body; none at all means every default."""
    try:
        return msgspec.json.decode(body or b"{}", type=kind)
    except msgspec.DecodeError as exc:
        raise SandboxRefusal(400, "invalid-parameters", "Invalid Parameters", str(exc)) from exc
