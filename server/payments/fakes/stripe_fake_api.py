"""One fake Stripe account answering API requests: routing, idempotency and injected faults.

Framework-free; ``stripe_fake`` hands it each ``/v1/…`` request already authenticated and
decoded. Faults imitate what a real network does to a payment call: a 500 before anything
happens (``fail_next``), an answer lost after the charge was made (``delay_next``: the
effect happens, then the answer comes too late for the client's timeout; ``delay_path``
picks which call loses it, say only a confirm), and a request that holds its idempotency key
for a while (``stall_next``: a concurrent retry gets 409).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

import stripe.params as sdk
import stripe.params.terminal as sdk_terminal

from server.payments.fakes import stripe_fake_params as sdk_params
from server.payments.fakes import stripe_fake_terminal as terminal
from server.payments.fakes.stripe_fake_forms import Obj, StripeFakeError
from server.payments.fakes.stripe_fake_idempotency import IdempotencyKeys, SavedResponse
from server.payments.fakes.stripe_fake_ledger import Ledger
from server.payments.fakes.stripe_fake_reports import (
    list_balance_transactions,
    list_events,
    list_payment_intents,
    list_refunds,
)
from server.payments.fakes.stripe_fake_search import search_payment_intents
from server.payments.fakes.stripe_fake_webhooks import WebhookOutbox

Action = Callable[[Ledger, Obj, str], Obj]
"""What one endpoint does: (ledger, parameters, the id in the path or "") → Stripe object."""


def _retrieve(kind: str, params_class: type) -> Action:
    def retrieve(ledger: Ledger, params: Obj, object_id: str) -> Obj:
        sdk_params.check(params, params_class)
        params.pop("client_secret", None)  # a PaymentIntent may be read with its secret
        return ledger.render(ledger.get(kind, object_id), params)

    return retrieve


def _create_method(ledger: Ledger, params: Obj, _: str) -> Obj:
    sdk_params.check(params, sdk.PaymentMethodCreateParams)
    return ledger.render(ledger.cards.create_method(params), params)


ENDPOINTS: list[tuple[str, str, Action]] = [
    ("POST", "/v1/payment_intents", lambda ledger, params, _: ledger.create_intent(params)),
    ("GET", "/v1/payment_intents", lambda ledger, params, _: list_payment_intents(ledger, params)),
    ("GET", "/v1/payment_intents/search", search_payment_intents),  # before /{id}: first match
    (
        "GET",
        "/v1/payment_intents/{id}",
        _retrieve("payment_intent", sdk.PaymentIntentRetrieveParams),
    ),
    ("POST", "/v1/payment_intents/{id}/confirm", lambda led, p, i: led.confirm_intent(i, p)),
    ("POST", "/v1/payment_intents/{id}/capture", lambda led, p, i: led.capture_intent(i, p)),
    ("POST", "/v1/payment_intents/{id}/cancel", lambda led, p, i: led.cancel_intent(i, p)),
    # Not a secret-key call: Stripe's iOS SDK makes Apple Pay tokens from PassKit's pk_token.
    ("POST", "/v1/tokens", lambda ledger, params, _: ledger.cards.create_token(params)),
    ("POST", "/v1/payment_methods", _create_method),
    (
        "GET",
        "/v1/payment_methods/{id}",
        _retrieve("payment_method", sdk.PaymentMethodRetrieveParams),
    ),
    ("GET", "/v1/charges/{id}", _retrieve("charge", sdk.ChargeRetrieveParams)),
    ("POST", "/v1/refunds", lambda ledger, params, _: ledger.create_refund(params)),
    ("GET", "/v1/refunds", lambda ledger, params, _: list_refunds(ledger, params)),
    ("GET", "/v1/refunds/{id}", _retrieve("refund", sdk.RefundRetrieveParams)),
    ("GET", "/v1/events", lambda ledger, params, _: list_events(ledger, params)),
    ("GET", "/v1/events/{id}", _retrieve("event", sdk.EventRetrieveParams)),
    ("GET", "/v1/balance_transactions", lambda led, p, _: list_balance_transactions(led, p)),
    (
        "GET",
        "/v1/balance_transactions/{id}",
        _retrieve("balance_transaction", sdk.BalanceTransactionRetrieveParams),
    ),
    *terminal.ENDPOINTS,
    (
        "GET",
        "/v1/terminal/locations/{id}",
        _retrieve("terminal.location", sdk_terminal.LocationRetrieveParams),
    ),
    (
        "GET",
        "/v1/terminal/readers/{id}",
        _retrieve("terminal.reader", sdk_terminal.ReaderRetrieveParams),
    ),
]
"""Every endpoint the fake serves; each checks its parameters against the SDK's TypedDict."""
_ROUTES = [
    (method, re.compile(template.replace("{id}", "(?P<id>[^/]+)") + "$"), action)
    for method, template, action in ENDPOINTS
]


@dataclass
class Faults:
    fail_next: int = 0
    """The next n API requests answer 500 without doing anything."""
    delay_next: int = 0
    """The next n POSTs take effect, then wait ``delay_seconds`` before answering."""
    delay_seconds: float = 0.0
    delay_path: str = ""
    """Only POSTs whose path matches this regular expression (``re.search``) count towards
    ``delay_next``: ``/confirm$`` loses a confirm's answer and nothing else. Empty: every POST."""
    held: int = 0
    """Answers being held back right now (read-only): 0 once every lost answer has gone."""
    stall_next: int = 0
    """The next n POSTs hold their idempotency key ``stall_seconds`` before taking effect."""
    stall_seconds: float = 0.0


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    replayed: bool = False


class FakeStripeAccount:
    def __init__(
        self,
        *,
        webhook_url: str | None,
        webhook_secret: str,
        fee_bp: int,
        fee_fixed: int,
        async_capture_seconds: float | None = None,
    ) -> None:
        self.outbox = WebhookOutbox(url=webhook_url, secret=webhook_secret)
        self._fees = (fee_bp, fee_fixed)
        self.async_capture_seconds = async_capture_seconds
        """After how long an ``automatic_async`` capture gets its balance transaction on its
        own; None: only when a test releases it (``POST /_fake/balance_transactions/release``)."""
        self.ledger = self._new_ledger()
        self.keys = IdempotencyKeys()
        self.faults = Faults()

    async def reset(self) -> None:
        await self.outbox.forget()
        self.ledger = self._new_ledger()
        self.keys.clear()
        self.faults = Faults()

    async def answer(
        self, method: str, path: str, params: Obj, *, api_key: str, idempotency_key: str | None
    ) -> Answer:
        if self.faults.fail_next > 0:
            self.faults.fail_next -= 1
            return _error(500, "An unknown error occurred (injected by the fake).", "api_error")
        action, object_id = _route(method, path)
        if method != "POST":
            return self._run(action, params, object_id)
        if idempotency_key is None:
            answer = await self._take_effect(action, params, object_id)
        else:
            fingerprint = json.dumps([path, params], sort_keys=True)
            saved = self.keys.claim(api_key, idempotency_key, fingerprint)
            if saved is not None:
                return Answer(saved.status, saved.body, replayed=True)
            done: Answer | None = None
            try:
                answer = done = await self._take_effect(action, params, object_id)
            finally:
                self.keys.finish(api_key, idempotency_key, _worth_saving(fingerprint, done))
        # Saved first, then lost on the way back: a retry with the same key gets the replay.
        if self.faults.delay_next > 0 and re.search(self.faults.delay_path, path):
            self.faults.delay_next -= 1
            self.faults.held += 1
            try:
                await asyncio.sleep(self.faults.delay_seconds)
            finally:
                self.faults.held -= 1
        return answer

    async def _take_effect(self, action: Action, params: Obj, object_id: str) -> Answer:
        if self.faults.stall_next > 0:
            self.faults.stall_next -= 1
            await asyncio.sleep(self.faults.stall_seconds)
        return self._run(action, params, object_id)

    def _new_ledger(self) -> Ledger:
        fee_bp, fee_fixed = self._fees
        return Ledger(
            fee_bp=fee_bp,
            fee_fixed=fee_fixed,
            on_event=self.outbox.send,
            on_async_capture=self._schedule_booking,
        )

    def _schedule_booking(self, charge_id: str) -> None:
        if self.async_capture_seconds is None:
            return
        ledger = self.ledger
        asyncio.get_running_loop().call_later(
            self.async_capture_seconds,
            lambda: ledger is self.ledger and ledger.release_balance_transactions(charge_id),
        )

    def _run(self, action: Action, params: Obj, object_id: str) -> Answer:
        try:
            return Answer(200, _encode(action(self.ledger, params, object_id)))
        except StripeFakeError as error:
            return Answer(error.status, _encode(error.body()))


def _route(method: str, path: str) -> tuple[Action, str]:
    for route_method, pattern, action in _ROUTES:
        if route_method == method and (match := pattern.match(path)):
            return action, match.groupdict().get("id", "")
    raise StripeFakeError(404, f"Unrecognized request URL ({method}: {path}).")


def _worth_saving(fingerprint: str, answer: Answer | None) -> SavedResponse | None:
    """Stripe saves what an endpoint answered once it ran; not a failed validation (4xx)."""
    if answer is None or answer.status in {400, 404}:
        return None
    return SavedResponse(fingerprint, answer.status, answer.body)


def _error(status: int, message: str, kind: str) -> Answer:
    return Answer(status, _encode(StripeFakeError(status, message, kind=kind).body()))


def _encode(body: Obj) -> bytes:
    return json.dumps(body, indent=2).encode()
