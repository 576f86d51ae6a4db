"""A fake Stripe API on 127.0.0.1 that the real ``stripe`` SDK talks to, for tests and ``make run``.

It speaks Stripe's v1 wire format (form-encoded requests, Bearer ``sk_test_…`` keys, JSON
objects and errors) for PaymentIntents (and their search), PaymentMethods, refunds, events,
balance transactions and Stripe Terminal (connection tokens, locations, readers and the
simulated reader's test helper, ``stripe_fake_terminal``; card_present payments,
``stripe_fake_card_present``) as the API version the SDK pins (``stripe._api_version``)
has them: the parameters the SDK's typed params declare and no others, automatic payment
methods on by default, asynchronous capture by default (the fee comes later, with
``charge.updated``), manual capture, and idempotency keys pruned after 24 hours. It delivers
signed webhooks. Test controls live under ``/_fake/`` and are not part of Stripe:

- ``GET /_fake/stats``: PaymentIntents, succeeded charges and refunds, per ``payment_id``.
- ``POST /_fake/faults``: ``fail_next``, ``delay_next``/``delay_seconds``/``delay_path``,
  ``stall_next``/``stall_seconds`` (see ``stripe_fake_api.Faults``); it answers the faults
  now planned, with ``held``, the answers being held back at the moment.
- ``GET /_fake/webhooks``: every signed delivery so far; ``POST /_fake/reset``.
- ``POST /_fake/refunds/{id}/settle``: end a refund made with metadata
  ``fake_refund_pending=true`` as ``succeeded`` or ``failed``.
- ``POST /_fake/balance_transactions/release``: finish asynchronous captures now (all, or
  ``{"charge": "ch_…"}``): each charge gets its balance transaction and a ``charge.updated``.
- ``POST /_fake/idempotency/age``: ``{"seconds": n}`` makes every saved idempotency key n
  seconds older; keys 24 hours old are pruned, as Stripe may.
- ``POST /_fake/apple/paymentSession``: Apple Pay's merchant validation endpoint.
- ``POST /_fake/terminal/tap``: ``{"payment_intent": "pi_…", "number": "4242424242424242",
  "amount_tip": 0}`` does what the Terminal iOS SDK's collect + confirm does with Tap to Pay
  on the iPad (a ``mobile_phone_reader``) to a card_present intent; it answers the intent, or
  Stripe's 402 card error for a declined card (``stripe_fake_terminal_sdk``).
- ``POST /_fake/terminal/forward_offline``: ``{"amount", "currency", "metadata",
  "capture_method": "manual"|"automatic", "number", "amount_tip", "stored_at"}`` creates and
  confirms the intent of a payment the SDK stored offline, as forwarding does; it answers the
  intent, declined or not.
- ``POST /_fake/authorizations/age``: ``{"seconds": n}`` makes every uncaptured in-person
  authorisation n seconds older; those past their window (Visa 5 days, others 2) lapse:
  canceled, ``automatic``, with ``charge.expired`` and ``payment_intent.canceled``
  (``stripe_fake_authorizations``). Answers ``{"canceled": [pi ids]}``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from typing import Any, Literal

import msgspec
from litestar import Litestar, Request, Response, get, post, route
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody

from server.payments.fakes import stripe_fake_authorizations as authorizations
from server.payments.fakes.stripe_fake_api import Answer, FakeStripeAccount, Faults
from server.payments.fakes.stripe_fake_forms import Obj, StripeFakeError, parse_form
from server.payments.fakes.stripe_fake_ledger import API_VERSION
from server.payments.fakes.stripe_fake_reports import stats
from server.payments.fakes.stripe_fake_terminal_sdk import forward_offline, tap_to_pay

APPLE_SESSION_SECONDS = 300
"""Apple's merchant sessions expire five minutes after they are made."""


def create_stripe_fake(
    *,
    webhook_url: str | None,
    webhook_secret: str,
    fee_bp: int = 150,
    fee_fixed: int = 20,
    async_capture_seconds: float | None = 2.0,
) -> Litestar:
    """The fake as an ASGI app; serve it with ``server.payments.fakes.runner.serve_in_thread``.

    Args:
        webhook_url: where events are POSTed (127.0.0.1 only), or None to only record them.
        webhook_secret: the ``whsec_…`` every delivery is signed with.
        fee_bp: Stripe's rate in basis points (150 = UK standard cards' 1.5%).
        fee_fixed: Stripe's fixed fee per charge in minor units (20p in the UK).
        async_capture_seconds: how long after an ``automatic_async`` payment its balance
            transaction (the fee) arrives; None holds it until a test releases it.
    """
    account = FakeStripeAccount(
        webhook_url=webhook_url,
        webhook_secret=webhook_secret,
        fee_bp=fee_bp,
        fee_fixed=fee_fixed,
        async_capture_seconds=async_capture_seconds,
    )
    return Litestar(
        route_handlers=[
            stripe_api,
            fake_stats,
            fake_faults,
            fake_webhooks,
            fake_reset,
            fake_settle_refund,
            fake_release_balance_transactions,
            fake_age_idempotency_keys,
            apple_payment_session,
            fake_tap_to_pay,
            fake_forward_offline,
            fake_age_authorizations,
        ],
        state=State({"stripe": account}),
        on_startup=[account.outbox.start],
        on_shutdown=[account.outbox.stop],
        openapi_config=None,
        logging_config=None,
    )


def _account(state: State) -> FakeStripeAccount:
    account: FakeStripeAccount = state["stripe"]
    return account


@route("/v1/{rest:path}", http_method=["GET", "POST"])
async def stripe_api(request: Request[Any, Any, Any], state: State) -> Response[bytes]:
    idempotency_key = request.headers.get("idempotency-key")
    try:
        api_key = _api_key(request.headers.get("authorization", ""))
        raw = await request.body() if request.method == "POST" else request.url.query.encode()
        answer = await _account(state).answer(
            request.method,
            request.url.path,
            parse_form(raw.decode()),
            api_key=api_key,
            idempotency_key=idempotency_key,
        )
    except StripeFakeError as error:
        answer = Answer(error.status, msgspec.json.encode(error.body()))
    headers = {"Request-Id": f"req_{secrets.token_hex(8)}", "Stripe-Version": API_VERSION}
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    if answer.replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(
        answer.body, status_code=answer.status, media_type="application/json", headers=headers
    )


def _api_key(authorization: str) -> str:
    scheme, _, key = authorization.partition(" ")
    if scheme.lower() != "bearer" or not key:
        raise StripeFakeError(401, "You did not provide an API key.")
    if not key.startswith("sk_test_"):
        raise StripeFakeError(401, f"Invalid API Key provided: {key[:8]}…")
    return key


class FaultsRequest(msgspec.Struct, forbid_unknown_fields=True):
    fail_next: int | None = None
    delay_next: int | None = None
    delay_seconds: float | None = None
    delay_path: str | None = None
    stall_next: int | None = None
    stall_seconds: float | None = None


@get("/_fake/stats")
async def fake_stats(state: State) -> Obj:
    account = _account(state)
    return {**stats(account.ledger), "webhooks": len(account.outbox.deliveries)}


@post("/_fake/faults", status_code=200)
async def fake_faults(state: State, data: JSONBody[FaultsRequest]) -> Faults:
    faults = _account(state).faults
    for name in FaultsRequest.__struct_fields__:
        if (value := getattr(data, name)) is not None:
            setattr(faults, name, value)
    return faults


@get("/_fake/webhooks")
async def fake_webhooks(state: State) -> list[Obj]:
    return [delivery.to_json() for delivery in _account(state).outbox.deliveries]


@post("/_fake/reset", status_code=200)
async def fake_reset(state: State) -> Obj:
    await _account(state).reset()
    return {"reset": True}


class SettleRefund(msgspec.Struct, forbid_unknown_fields=True):
    status: Literal["succeeded", "failed", "canceled"]
    failure_reason: str | None = None


@post("/_fake/refunds/{refund_id:str}/settle", status_code=200)
async def fake_settle_refund(
    state: State, refund_id: FromPath[str], data: JSONBody[SettleRefund]
) -> Response[Obj]:
    try:
        refund = _account(state).ledger.settle_refund(refund_id, data.status, data.failure_reason)
    except StripeFakeError as error:
        return Response(error.body(), status_code=error.status)
    return Response(refund)


class Release(msgspec.Struct, forbid_unknown_fields=True):
    charge: str | None = None


@post("/_fake/balance_transactions/release", status_code=200)
async def fake_release_balance_transactions(state: State, data: JSONBody[Release]) -> Obj:
    released = _account(state).ledger.release_balance_transactions(data.charge)
    return {"released": released}


class AgeKeys(msgspec.Struct, forbid_unknown_fields=True):
    seconds: float


@post("/_fake/idempotency/age", status_code=200)
async def fake_age_idempotency_keys(state: State, data: JSONBody[AgeKeys]) -> Obj:
    return {"keys": _account(state).keys.age(data.seconds)}


class MerchantValidation(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    """What a merchant server sends Apple (developer.apple.com/documentation/applepayontheweb)."""

    merchant_identifier: str
    display_name: str
    initiative: str
    initiative_context: str


@post("/_fake/apple/paymentSession", status_code=200)
async def apple_payment_session(data: JSONBody[MerchantValidation]) -> Response[Obj]:
    """An opaque merchant session like Apple's; the fake checks the shape, not the TLS cert."""
    if data.initiative not in {"web", "messaging", "in_app"} or not data.merchant_identifier:
        message = f"Payment Services Exception merchantId={data.merchant_identifier} unauthorized"
        return Response({"statusCode": "400", "statusMessage": message}, status_code=400)
    started = int(time.time() * 1000)
    return Response(
        {
            "epochTimestamp": started,
            "expiresAt": started + APPLE_SESSION_SECONDS * 1000,
            "merchantSessionIdentifier": f"SSH{secrets.token_hex(16).upper()}",
            "nonce": secrets.token_hex(4),
            "merchantIdentifier": hashlib.sha256(data.merchant_identifier.encode())
            .hexdigest()
            .upper(),
            "domainName": data.initiative_context,
            "displayName": data.display_name,
            "signature": base64.b64encode(secrets.token_bytes(96)).decode(),
            "operationalAnalyticsIdentifier": f"{data.display_name}:{secrets.token_hex(8)}",
            "retries": 0,
            "pspId": hashlib.sha256(b"fake-stripe").hexdigest().upper(),
        }
    )


class Tap(msgspec.Struct, forbid_unknown_fields=True):
    """A card tapped on the iPad for ``payment_intent`` (Tap to Pay, the Terminal iOS SDK)."""

    payment_intent: str
    number: str | None = None
    """One of Stripe's Terminal test cards; None: the default Visa 4242…"""
    amount_tip: int = 0


@post("/_fake/terminal/tap", status_code=200)
async def fake_tap_to_pay(state: State, data: JSONBody[Tap]) -> Response[Obj]:
    ledger = _account(state).ledger
    try:
        intent = tap_to_pay(ledger, data.payment_intent, data.number, data.amount_tip)
    except StripeFakeError as error:
        return Response(error.body(), status_code=error.status)
    return Response(intent)


class OfflinePayment(msgspec.Struct, forbid_unknown_fields=True):
    """A payment the Terminal SDK stored offline, as it forwards it on reconnecting."""

    amount: int
    currency: str
    metadata: dict[str, str] = msgspec.field(default_factory=dict)
    capture_method: Literal["manual", "automatic"] = "automatic"
    number: str | None = None
    amount_tip: int = 0
    stored_at: int | None = None
    """When the SDK stored it (Unix seconds); None: now."""


@post("/_fake/terminal/forward_offline", status_code=200)
async def fake_forward_offline(state: State, data: JSONBody[OfflinePayment]) -> Response[Obj]:
    try:
        intent = forward_offline(
            _account(state).ledger,
            amount=data.amount,
            currency=data.currency,
            metadata=data.metadata,
            capture_method=data.capture_method,
            number=data.number,
            tip=data.amount_tip,
            stored_at=data.stored_at,
        )
    except StripeFakeError as error:
        return Response(error.body(), status_code=error.status)
    return Response(intent)


class AgeAuthorizations(msgspec.Struct, forbid_unknown_fields=True):
    seconds: int


@post("/_fake/authorizations/age", status_code=200)
async def fake_age_authorizations(state: State, data: JSONBody[AgeAuthorizations]) -> Obj:
    return {"canceled": authorizations.age(_account(state).ledger, data.seconds)}
