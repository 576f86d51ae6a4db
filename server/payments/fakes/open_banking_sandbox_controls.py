"""Test controls under ``/_sandbox``: the clock, faults, customer shortcuts, webhooks, stats.

None of these exist at TrueLayer; they let a test play the customer and the passage of time
without a browser or a sleep.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.params import FromPath, JSONBody

from server.payments.fakes.open_banking_sandbox_api import payment_view, refund_view
from server.payments.fakes.open_banking_sandbox_bank import SandboxRefusal, rfc3339
from server.payments.fakes.open_banking_sandbox_gate import MAX_DELAY_SECONDS, sandbox_of

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
    """``open`` (the page was opened), ``approve``, ``decline`` or ``reject`` (by the bank)."""
    sandbox = sandbox_of(request)
    actions = {
        "open": sandbox.bank.open_page,
        "approve": sandbox.bank.approve,
        "decline": sandbox.bank.decline,
        "reject": sandbox.bank.reject,
    }
    if action not in actions:
        raise SandboxRefusal(404, "not-found", "Not Found", f"no action {action}")
    return payment_view(sandbox, actions[action](payment_id))


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
