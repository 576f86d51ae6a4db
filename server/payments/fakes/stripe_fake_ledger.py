"""The fake Stripe account's records: PaymentIntents, charges, refunds, events and fees.

Plain synchronous Python, no web framework: ``stripe_fake`` turns requests into these calls.
No call awaits, so on one event loop each runs whole, like one Stripe API request. Outcomes
follow Stripe's test mode (https://docs.stripe.com/testing): ``pm_card_visa`` pays,
``pm_card_chargeDeclined`` is declined, and so on.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Callable

from server.money import round_half_up
from server.payments.fakes.stripe_fake_cards import CardProfile, Cards, new_id, now
from server.payments.fakes.stripe_fake_forms import (
    Obj,
    StripeFakeError,
    flag,
    integer,
    metadata,
    missing,
    only,
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
    {"requires_payment_method", "requires_confirmation", "requires_action", "processing"}
)
_CONFIRMABLE = frozenset({"requires_payment_method", "requires_confirmation", "requires_action"})
_INTENT_CREATE = frozenset(
    {
        "amount", "currency", "metadata", "description", "payment_method",
        "payment_method_types", "allowed_payment_method_types", "payment_method_data",
        "automatic_payment_methods",
        "confirm", "expand", "receipt_email", "return_url", "statement_descriptor_suffix",
    }
)  # fmt: skip
_INTENT_CONFIRM = frozenset({"payment_method", "payment_method_data", "expand", "return_url"})
_REFUND_CREATE = frozenset({"payment_intent", "charge", "amount", "metadata", "reason", "expand"})


class Ledger:
    """Every object of one fake account, by id, plus the event and fee history."""

    def __init__(self, *, fee_bp: int, fee_fixed: int, on_event: Callable[[Obj], None]) -> None:
        self.fee_bp = fee_bp
        self.fee_fixed = fee_fixed
        self._on_event = on_event
        self.objects: dict[str, Obj] = {}
        self.events: list[Obj] = []
        self.balance_transactions: list[Obj] = []
        self.cards = Cards(self.objects)

    def create_intent(self, params: Obj) -> Obj:
        only(params, _INTENT_CREATE)
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
        intent_id = new_id("pi")
        intent: Obj = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_received": 0,
            "currency": currency,
            "status": "requires_payment_method",
            "client_secret": f"{intent_id}_secret_{secrets.token_hex(12)}",
            "created": now(),
            "description": text(params, "description"),
            "metadata": metadata(params),
            "payment_method": None,
            "payment_method_types": _method_types(params),
            "capture_method": "automatic",
            "confirmation_method": "automatic",
            "last_payment_error": None,
            "latest_charge": None,
            "next_action": None,
            "canceled_at": None,
            "cancellation_reason": None,
            "livemode": False,
        }
        self.cards.attach(intent, params)
        self._store(intent)
        self._emit("payment_intent.created", intent)
        if flag(params, "confirm"):
            self._confirm(intent)
        return self.render(intent, params)

    def confirm_intent(self, intent_id: str, params: Obj) -> Obj:
        only(params, _INTENT_CONFIRM)
        intent = self.get("payment_intent", intent_id, param="intent")
        if intent["status"] not in _CONFIRMABLE:
            raise _unexpected_state(intent, "confirm")
        self.cards.attach(intent, params)
        self._confirm(intent)
        return self.render(intent, params)

    def cancel_intent(self, intent_id: str, params: Obj) -> Obj:
        only(params, frozenset({"cancellation_reason", "expand"}))
        intent = self.get("payment_intent", intent_id, param="intent")
        if intent["status"] not in _CANCELABLE:
            raise _unexpected_state(intent, "cancel")
        intent.update(
            status="canceled",
            canceled_at=now(),
            cancellation_reason=text(params, "cancellation_reason"),
        )
        self._emit("payment_intent.canceled", intent)
        return self.render(intent, params)

    def create_refund(self, params: Obj) -> Obj:
        only(params, _REFUND_CREATE)
        charge = self._refundable_charge(params)
        remaining = charge["amount"] - charge["amount_refunded"]
        if remaining == 0:
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
                "currency": charge["currency"],
                "charge": charge["id"],
                "payment_intent": charge["payment_intent"],
                "balance_transaction": fees["id"],
                "metadata": metadata(params),
                "reason": text(params, "reason"),
                "status": "pending" if pending else "succeeded",
                "pending_reason": "processing" if pending else None,
                "failure_reason": None,
                "created": now(),
            }
        )
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
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

    def get(self, kind: str, object_id: str, *, param: str = "id") -> Obj:
        found = self.objects.get(object_id)
        if found is None or found["object"] != kind:
            raise missing(kind, object_id, param)
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

    def _emit(self, event_type: str, about: Obj) -> None:
        event = self._store(
            {
                "id": new_id("evt"),
                "object": "event",
                "api_version": API_VERSION,
                "created": now(),
                "data": {"object": copy.deepcopy(about)},
                "livemode": False,
                "pending_webhooks": 1,
                "request": {"id": None, "idempotency_key": None},
                "type": event_type,
            }
        )
        self.events.append(event)
        self._on_event(event)

    def _confirm(self, intent: Obj) -> None:
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
        card = self.cards.card_of(method_id)
        if card.needs_action:
            intent.update(status="requires_action", next_action={"type": "use_stripe_sdk"})
            self._emit("payment_intent.requires_action", intent)
            return
        charge = self._charge(intent, method_id, card)
        if card.decline is None:
            intent.update(
                status="succeeded",
                amount_received=intent["amount"],
                latest_charge=charge["id"],
                last_payment_error=None,
                next_action=None,
            )
            self._emit("charge.succeeded", charge)
            self._emit("payment_intent.succeeded", intent)
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

    def _charge(self, intent: Obj, method_id: str, card: CardProfile) -> Obj:
        paid = card.decline is None
        charge_id = new_id("ch")
        fees = None
        if paid:
            fee = round_half_up(intent["amount"] * self.fee_bp, BASIS_POINTS) + self.fee_fixed
            fees = self._balance_transaction(
                "charge", intent["amount"], fee, charge_id, intent["currency"]
            )
        return self._store(
            {
                "id": charge_id,
                "object": "charge",
                "amount": intent["amount"],
                "amount_captured": intent["amount"] if paid else 0,
                "amount_refunded": 0,
                "balance_transaction": fees["id"] if fees else None,
                "captured": paid,
                "created": now(),
                "currency": intent["currency"],
                "description": intent["description"],
                "failure_code": card.decline[0] if card.decline else None,
                "failure_message": None if paid else "Your card was declined.",
                "metadata": dict(intent["metadata"]),
                "paid": paid,
                "payment_intent": intent["id"],
                "payment_method": method_id,
                "payment_method_details": {
                    "type": "card",
                    "card": copy.deepcopy(self.objects[method_id]["card"]),
                },
                "refunded": False,
                "status": "succeeded" if paid else "failed",
            }
        )

    def _balance_transaction(
        self, kind: str, amount: int, fee: int, source: str, currency: str
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
                "created": created,
                "currency": currency,
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


def _method_types(params: Obj) -> list[str]:
    """``allowed_payment_method_types`` (formerly ``payment_method_types``), card by default."""
    return (
        strings(params, "allowed_payment_method_types")
        or strings(params, "payment_method_types")
        or ["card"]
    )


def _unexpected_state(intent: Obj, action: str) -> StripeFakeError:
    return StripeFakeError(
        400,
        f"You cannot {action} this PaymentIntent because it has a status of {intent['status']}.",
        code="payment_intent_unexpected_state",
        extra={"payment_intent": copy.deepcopy(intent)},
    )
