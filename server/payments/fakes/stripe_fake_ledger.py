"""The fake Stripe account's records: PaymentIntents, charges, refunds, events and fees.

Plain synchronous Python, no web framework: ``stripe_fake`` turns requests into these calls.
No call awaits, so on one event loop each runs whole, like one Stripe API request. Outcomes
follow Stripe's test mode (https://docs.stripe.com/testing): ``pm_card_visa`` pays,
``pm_card_chargeDeclined`` is declined, and so on.

It behaves as the API version the SDK pins, not as a pre-2023 Stripe:

- Automatic payment methods are on unless ``allowed_payment_method_types`` is given (the two
  are exclusive); confirming then needs a ``return_url`` unless
  ``automatic_payment_methods[allow_redirects]=never`` or the payment is ``off_session``
  (the default since 2023-08-16).
- ``capture_method`` defaults to ``automatic_async`` (since 2024-04-10): a paid charge has
  ``balance_transaction: null`` in the confirm answer and in ``charge.succeeded`` /
  ``payment_intent.succeeded``; the fee arrives later with ``charge.updated``
  (https://docs.stripe.com/payments/payment-intents/asynchronous-capture). The fake holds
  those until ``release_balance_transactions`` (a ``/_fake/`` control, or a timer).
  ``automatic`` books the fee at once; ``manual`` stops at ``requires_capture`` until
  ``POST /v1/payment_intents/{id}/capture``.
- A ``card_present`` intent (``allowed_payment_method_types=["card_present"]``) is paid by a
  card a Terminal reader read (``stripe_fake_terminal``); it never stops at
  ``requires_action``, and if left uncaptured its authorisation lapses
  (``stripe_fake_authorizations``, ``expire_authorization``).
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Callable

import stripe.params as sdk

from server.money import round_half_up
from server.payments.fakes import stripe_fake_params as sdk_params
from server.payments.fakes.stripe_fake_cards import CardProfile, Cards, new_id, now
from server.payments.fakes.stripe_fake_charges import new_charge
from server.payments.fakes.stripe_fake_forms import (
    Obj,
    StripeFakeError,
    flag,
    integer,
    metadata,
    missing,
    strings,
    text,
)

API_VERSION = "2026-10-28.endive"
"""The version stripe 16.1 pins; events and answers say they are in it."""
BASIS_POINTS = 10_000
PENDING_REFUND_FLAG = "fake_refund_pending"
"""Refund metadata key: when ``"true"`` the refund stays pending until settled by a control."""

# Smallest charge per currency (https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts).
_MINIMUM_CHARGE = {"gbp": 30, "eur": 50, "usd": 50}
_CANCELABLE = frozenset(
    {
        "requires_payment_method", "requires_confirmation", "requires_action", "processing",
        "requires_capture",
    }
)  # fmt: skip
_CONFIRMABLE = frozenset({"requires_payment_method", "requires_confirmation", "requires_action"})
_CAPTURE_METHODS = sdk_params.literal_values(sdk.PaymentIntentCreateParams, "capture_method")
DEFAULT_CAPTURE_METHOD = "automatic_async"
"""The default when ``capture_method`` is not sent, since API version 2024-04-10."""
RETURN_URL_NEEDED = (
    "A `return_url` must be specified because this Payment Intent is configured to "
    "automatically accept the payment methods enabled in the Dashboard, some of which may "
    "require a full page redirect to succeed. If you do not want to accept redirect-based "
    "payment methods, set `automatic_payment_methods[enabled]` to `true` and "
    "`automatic_payment_methods[allow_redirects]` to `never` when creating Setup Intents and "
    "Payment Intents."
)


class Ledger:
    """Every object of one fake account, by id, plus the event and fee history."""

    def __init__(
        self,
        *,
        fee_bp: int,
        fee_fixed: int,
        on_event: Callable[[Obj], None],
        on_async_capture: Callable[[str], None] | None = None,
    ) -> None:
        self.fee_bp = fee_bp
        self.fee_fixed = fee_fixed
        self._on_event = on_event
        self._on_async_capture = on_async_capture
        self.objects: dict[str, Obj] = {}
        self.events: list[Obj] = []
        self.balance_transactions: list[Obj] = []
        self._return_urls: dict[str, str | None] = {}
        """Each intent's ``return_url`` (Stripe keeps it; the object does not show it)."""
        self.unbooked: list[str] = []
        """Charges captured asynchronously whose balance transaction Stripe has not made yet."""
        self.cards = Cards(self.objects)

    def create_intent(self, params: Obj) -> Obj:
        sdk_params.check(params, sdk.PaymentIntentCreateParams)
        amount = integer(params, "amount")
        currency = (text(params, "currency") or "").lower()
        if len(currency) != 3 or not currency.isalpha():
            raise StripeFakeError(400, f"Invalid currency: {currency}", param="currency")
        minimum = _MINIMUM_CHARGE.get(currency, 50)
        if amount < minimum:
            raise StripeFakeError(
                400,
                f"Amount must be at least {minimum} {currency}",
                code="amount_too_small",
                param="amount",
            )
        automatic = _automatic_payment_methods(params)
        intent_id = new_id("pi")
        intent: Obj = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0,
            "amount_details": {"tip": {}},
            "amount_received": 0,
            "application": None,
            "application_fee_amount": None,
            "automatic_payment_methods": automatic,
            "canceled_at": None,
            "cancellation_reason": None,
            "capture_method": _capture_method(params) or DEFAULT_CAPTURE_METHOD,
            "client_secret": f"{intent_id}_secret_{secrets.token_hex(12)}",
            "confirmation_method": "automatic",
            "created": now(),
            "currency": currency,
            "customer": None,
            "customer_account": None,
            "description": text(params, "description"),
            "excluded_payment_method_types": strings(params, "excluded_payment_method_types")
            or None,
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "managed_payments": None,
            "metadata": metadata(params),
            "next_action": None,
            "on_behalf_of": None,
            "payment_method": None,
            "payment_method_configuration_details": (
                {"id": "pmc_fake_default", "parent": None} if automatic else None
            ),
            "payment_method_options": {},
            "payment_method_types": strings(params, "allowed_payment_method_types") or ["card"],
            "processing": None,
            "receipt_email": text(params, "receipt_email"),
            "review": None,
            "setup_future_usage": None,
            "shipping": None,
            "source": None,
            "statement_descriptor": None,
            "statement_descriptor_suffix": text(params, "statement_descriptor_suffix"),
            "status": "requires_payment_method",
            "transfer_data": None,
            "transfer_group": None,
        }
        self._return_urls[intent_id] = text(params, "return_url")
        self.cards.attach(intent, params)
        self._store(intent)
        self._emit("payment_intent.created", intent)
        if flag(params, "confirm"):
            self._confirm(intent, params)
        return self.render(intent, params)

    def confirm_intent(self, intent_id: str, params: Obj) -> Obj:
        sdk_params.check(params, sdk.PaymentIntentConfirmParams)
        intent = self.get("payment_intent", intent_id, param="intent")
        if intent["status"] not in _CONFIRMABLE:
            raise _unexpected_state(intent, "confirm")
        if (method := _capture_method(params)) is not None:
            intent["capture_method"] = method
        if (url := text(params, "return_url")) is not None:
            self._return_urls[intent_id] = url
        self.cards.attach(intent, params)
        self._confirm(intent, params)
        return self.render(intent, params)

    def capture_intent(self, intent_id: str, params: Obj) -> Obj:
        """``POST /v1/payment_intents/{id}/capture`` of a ``requires_capture`` intent."""
        sdk_params.check(params, sdk.PaymentIntentCaptureParams)
        intent = self.get("payment_intent", intent_id, param="intent")
        if intent["status"] != "requires_capture":
            raise _unexpected_state(intent, "capture")
        capturable = intent["amount_capturable"]
        amount = integer(params, "amount_to_capture", default=capturable)
        if not 0 < amount <= capturable:
            raise StripeFakeError(
                400,
                f"The amount to capture ({amount}) must be positive and at most the "
                f"PaymentIntent's amount_capturable ({capturable}).",
                code="amount_too_large",
                param="amount_to_capture",
            )
        charge = self.objects[intent["latest_charge"]]
        charge.update(captured=True, amount_captured=amount)
        # A manual capture books its balance transaction at once (only automatic_async defers).
        self._book(charge)
        intent.update(status="succeeded", amount_received=amount, amount_capturable=0)
        intent["metadata"].update(metadata(params))
        self._emit("charge.captured", charge)
        self._emit("payment_intent.succeeded", intent)
        return self.render(intent, params)

    def cancel_intent(self, intent_id: str, params: Obj) -> Obj:
        sdk_params.check(params, sdk.PaymentIntentCancelParams)
        intent = self.get("payment_intent", intent_id, param="intent")
        if intent["status"] not in _CANCELABLE:
            raise _unexpected_state(intent, "cancel")
        if intent["status"] == "requires_capture":
            # The authorisation is released: the uncaptured charge is refunded in full.
            charge = self.objects[intent["latest_charge"]]
            charge.update(refunded=True, amount_refunded=charge["amount"])
        intent.update(
            status="canceled",
            amount_capturable=0,
            canceled_at=now(),
            cancellation_reason=text(params, "cancellation_reason"),
        )
        self._emit("payment_intent.canceled", intent)
        return self.render(intent, params)

    def create_refund(self, params: Obj) -> Obj:
        sdk_params.check(params, sdk.RefundCreateParams)
        charge = self._refundable_charge(params)
        remaining = charge["amount_captured"] - charge["amount_refunded"]
        if remaining <= 0:
            raise StripeFakeError(
                400,
                f"Charge {charge['id']} has already been refunded.",
                code="charge_already_refunded",
            )
        amount = integer(params, "amount", default=remaining)
        if amount <= 0:
            raise StripeFakeError(400, "Invalid positive integer", param="amount")
        if amount > remaining:
            raise StripeFakeError(
                400,
                f"Refund amount ({amount}) is greater than unrefunded amount on charge "
                f"({remaining})",
                code="amount_too_large",
                param="amount",
            )
        refund_id = new_id("re")
        pending = metadata(params).get(PENDING_REFUND_FLAG) == "true"
        fees = self._balance_transaction("refund", -amount, 0, refund_id, charge["currency"])
        refund = self._store(
            {
                "id": refund_id,
                "object": "refund",
                "amount": amount,
                "balance_transaction": fees["id"],
                "charge": charge["id"],
                "created": now(),
                "currency": charge["currency"],
                "customer": None,
                "customer_account": None,
                "destination_details": {"card": {"type": "refund"}, "type": "card"},
                "metadata": metadata(params),
                "payment_intent": charge["payment_intent"],
                "payment_method": charge["payment_method"],
                "reason": text(params, "reason"),
                "receipt_number": None,
                "source_transfer_reversal": None,
                "status": "pending" if pending else "succeeded",
                "pending_reason": "processing" if pending else None,
                "failure_reason": None,
                "transfer_reversal": None,
            }
        )
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount_captured"]
        self._emit("refund.created", refund)
        self._emit("charge.refunded", charge)
        return self.render(refund, params)

    def settle_refund(self, refund_id: str, status: str, failure_reason: str | None) -> Obj:
        """A pending refund's ending, as the card network later reports it."""
        refund = self.get("refund", refund_id)
        if refund["status"] != "pending" or status not in {"succeeded", "failed", "canceled"}:
            raise StripeFakeError(400, f"Cannot move a {refund['status']} refund to {status}")
        refund.update(status=status, pending_reason=None)
        if status != "succeeded":
            charge = self.objects[refund["charge"]]
            charge["amount_refunded"] -= refund["amount"]
            charge["refunded"] = False
            refund["failure_reason"] = failure_reason or "unknown"
            self._balance_transaction(
                "refund_failure", refund["amount"], 0, refund_id, refund["currency"]
            )
        self._emit("refund.updated", refund)
        if status == "failed":
            self._emit("refund.failed", refund)
        return self.render(refund, {})

    def release_balance_transactions(self, charge_id: str | None = None) -> list[str]:
        """Finish asynchronous captures: book each charge's fee and send ``charge.updated``.

        ``charge_id`` None releases every held charge. Returns the charges released.
        """
        released = [held for held in self.unbooked if charge_id in (None, held)]
        for held in released:
            self.unbooked.remove(held)
            charge = self.objects[held]
            self._book(charge)
            self._emit("charge.updated", charge, previous={"balance_transaction": None})
        return released

    def confirm_in_person(self, intent: Obj, method_id: str) -> None:
        """Confirm ``intent`` with a card a reader just read, as the reader or Terminal SDK does.

        A decline raises its card error after the intent, charge and events record it.
        """
        intent.update(payment_method=method_id, status="requires_confirmation")
        self._confirm(intent, {})

    def expire_authorization(self, intent: Obj) -> None:
        """Stripe cancels an intent whose authorisation lapsed uncaptured and releases the hold.

        The charge is refunded in full and ``charge.expired`` says so
        (docs.stripe.com/api/events/types#event_types-charge.expired); the intent is canceled
        with ``cancellation_reason`` ``automatic``, the reason Stripe gives for a cancellation it
        made itself (docs.stripe.com/api/payment_intents/object, ``cancellation_reason``).
        """
        charge = self.objects[intent["latest_charge"]]
        charge.update(refunded=True, amount_refunded=charge["amount"])
        intent.update(
            status="canceled",
            amount_capturable=0,
            canceled_at=now(),
            cancellation_reason="automatic",
        )
        self._emit("charge.expired", charge)
        self._emit("payment_intent.canceled", intent)

    def emit(self, event_type: str, about: Obj) -> None:
        """Record and deliver an event about ``about`` (for the Terminal resources)."""
        self._emit(event_type, about)

    def get(self, kind: str, object_id: str, *, param: str = "id") -> Obj:
        found = self.objects.get(object_id)
        if found is None or found["object"] != kind:
            # Stripe names Terminal objects without their namespace: "No such location: 'tml_…'".
            raise missing(kind.removeprefix("terminal."), object_id, param)
        return found

    def render(self, found: Obj, params: Obj) -> Obj:
        """A copy to send, with the ids named in ``expand[]`` replaced by their objects."""
        shown = copy.deepcopy(found)
        for path in strings(params, "expand"):
            self._expand(shown, path.split("."), path)
        return shown

    def _expand(self, node: Obj, fields: list[str], path: str) -> None:
        field, *rest = fields
        if field not in node:
            raise StripeFakeError(
                400, f"This property cannot be expanded ({path}).", param="expand"
            )
        value = node[field]
        if isinstance(value, str) and value in self.objects:
            node[field] = value = copy.deepcopy(self.objects[value])
        if rest and isinstance(value, dict):
            self._expand(value, rest, path)

    def _store(self, new: Obj) -> Obj:
        self.objects[new["id"]] = new
        return new

    def _emit(self, event_type: str, about: Obj, *, previous: Obj | None = None) -> None:
        data: Obj = {"object": copy.deepcopy(about)}
        if previous is not None:
            data["previous_attributes"] = previous
        event = self._store(
            {
                "id": new_id("evt"),
                "object": "event",
                "api_version": API_VERSION,
                "context": None,
                "created": now(),
                "data": data,
                "livemode": False,
                "pending_webhooks": 1,
                "request": {"id": None, "idempotency_key": None},
                "type": event_type,
            }
        )
        self.events.append(event)
        self._on_event(event)

    def _confirm(self, intent: Obj, params: Obj) -> None:
        if intent["status"] not in _CONFIRMABLE:
            raise _unexpected_state(intent, "confirm")
        method_id = intent["payment_method"]
        if method_id is None:
            raise StripeFakeError(
                400,
                "You cannot confirm this PaymentIntent because it's missing a payment method.",
                code="payment_intent_unexpected_state",
                extra={"payment_intent": copy.deepcopy(intent)},
            )
        automatic = intent["automatic_payment_methods"]
        if (
            automatic is not None
            and automatic.get("allow_redirects") != "never"
            and self._return_urls.get(intent["id"]) is None
            and params.get("off_session") in (None, "false", "")
        ):
            raise StripeFakeError(400, RETURN_URL_NEEDED, param="return_url")
        card = self.cards.card_of(method_id)
        # In person the card itself is the authentication: no 3-D Secure, no requires_action.
        if card.needs_action and self.objects[method_id]["type"] != "card_present":
            url = self._return_urls.get(intent["id"])
            next_action: Obj = (
                {"type": "redirect_to_url", "redirect_to_url": {"return_url": url, "url": url}}
                if url
                else {"type": "use_stripe_sdk", "use_stripe_sdk": {}}
            )
            intent.update(status="requires_action", next_action=next_action)
            self._emit("payment_intent.requires_action", intent)
            return
        charge = self._charge(intent, method_id, card)
        if card.decline is None:
            self._authorised(intent, charge)
            return
        code, decline_code = card.decline
        error = StripeFakeError(
            402,
            "Your card was declined.",
            kind="card_error",
            code=code,
            decline_code=decline_code,
            extra={
                "charge": charge["id"],
                "payment_method": copy.deepcopy(self.objects[method_id]),
            },
        )
        intent.update(
            status="requires_payment_method",
            payment_method=None,
            latest_charge=charge["id"],
            last_payment_error=copy.deepcopy(error.error),
        )
        error.error["payment_intent"] = copy.deepcopy(intent)
        self._emit("charge.failed", charge)
        self._emit("payment_intent.payment_failed", intent)
        raise error

    def _authorised(self, intent: Obj, charge: Obj) -> None:
        """A card said yes: captured now, captured later (async), or held for ``/capture``."""
        intent.update(latest_charge=charge["id"], last_payment_error=None, next_action=None)
        method = intent["capture_method"]
        if method == "manual":
            intent.update(status="requires_capture", amount_capturable=intent["amount"])
            self._emit("charge.succeeded", charge)
            self._emit("payment_intent.amount_capturable_updated", intent)
            return
        charge.update(captured=True, amount_captured=intent["amount"])
        intent.update(status="succeeded", amount_received=intent["amount"])
        if method == "automatic":
            self._book(charge)
        else:
            self.unbooked.append(charge["id"])
        self._emit("charge.succeeded", charge)
        self._emit("payment_intent.succeeded", intent)
        if method != "automatic" and self._on_async_capture is not None:
            self._on_async_capture(charge["id"])

    def _book(self, charge: Obj) -> None:
        amount = charge["amount_captured"]
        fee = round_half_up(amount * self.fee_bp, BASIS_POINTS) + self.fee_fixed
        fees = self._balance_transaction(
            "charge", amount, fee, charge["id"], charge["currency"], charge["description"]
        )
        charge["balance_transaction"] = fees["id"]

    def _charge(self, intent: Obj, method_id: str, card: CardProfile) -> Obj:
        reader_id = self.cards.reader_of(method_id)
        reader = self.objects.get(reader_id) if reader_id else None
        return self._store(new_charge(intent, self.objects[method_id], card, reader=reader))

    def _balance_transaction(
        self,
        kind: str,
        amount: int,
        fee: int,
        source: str,
        currency: str,
        description: str | None = None,
    ) -> Obj:
        created = now()
        fee_details = [
            {
                "amount": fee,
                "application": None,
                "currency": currency,
                "description": "Stripe processing fees",
                "type": "stripe_fee",
            }
        ]
        entry = self._store(
            {
                "id": new_id("txn"),
                "object": "balance_transaction",
                "amount": amount,
                "available_on": created + 2 * 86_400,
                "balance_type": "payments",
                "created": created,
                "currency": currency,
                "description": description,
                "exchange_rate": None,
                "fee": fee,
                "fee_details": fee_details if fee else [],
                "net": amount - fee,
                "reporting_category": kind,
                "source": source,
                "status": "pending",
                "type": kind,
            }
        )
        self.balance_transactions.append(entry)
        return entry

    def _refundable_charge(self, params: Obj) -> Obj:
        intent_id, charge_id = text(params, "payment_intent"), text(params, "charge")
        if charge_id is not None:
            return self.get("charge", charge_id, param="charge")
        if intent_id is None:
            raise StripeFakeError(
                400, "One of charge or payment_intent is required.", code="parameter_missing"
            )
        intent = self.get("payment_intent", intent_id, param="payment_intent")
        if intent["status"] != "succeeded":
            raise StripeFakeError(
                400,
                f"This PaymentIntent ({intent_id}) does not have a successful charge to refund.",
                code="charge_not_found",
                param="payment_intent",
            )
        return self.objects[intent["latest_charge"]]


def _capture_method(params: Obj) -> str | None:
    method = text(params, "capture_method")
    if method is not None and method not in _CAPTURE_METHODS:
        raise StripeFakeError(
            400,
            f"Invalid capture_method: must be one of {', '.join(sorted(_CAPTURE_METHODS))}",
            param="capture_method",
        )
    return method


def _automatic_payment_methods(params: Obj) -> Obj | None:
    """The intent's ``automatic_payment_methods``: on by default, off with explicit types."""
    explicit = params.get("allowed_payment_method_types")
    automatic = params.get("automatic_payment_methods")
    if explicit is not None and automatic is not None:
        raise StripeFakeError(
            400,
            "You may only specify one of these parameters: allowed_payment_method_types, "
            "automatic_payment_methods.",
            param="automatic_payment_methods",
        )
    if explicit is not None:
        return None
    if automatic is None:
        return {"allow_redirects": "always", "enabled": True}
    if not isinstance(automatic, dict) or "enabled" not in automatic:
        raise StripeFakeError(
            400,
            "Missing required param: automatic_payment_methods[enabled].",
            code="parameter_missing",
            param="automatic_payment_methods[enabled]",
        )
    if automatic["enabled"] != "true":
        return None
    redirects = automatic.get("allow_redirects", "always")
    if redirects not in {"always", "never"}:
        raise StripeFakeError(
            400, "Invalid allow_redirects", param="automatic_payment_methods[allow_redirects]"
        )
    return {"allow_redirects": redirects, "enabled": True}


def _unexpected_state(intent: Obj, action: str) -> StripeFakeError:
    return StripeFakeError(
        400,
        f"You cannot {action} this PaymentIntent because it has a status of {intent['status']}.",
        code="payment_intent_unexpected_state",
        extra={"payment_intent": copy.deepcopy(intent)},
    )
