"""The fake Stripe's payment methods: Stripe's test cards, and Apple Pay tokens as cards.

Stripe's test mode decides an outcome by the payment method
(https://docs.stripe.com/testing#cards): ``pm_card_visa`` pays, ``pm_card_chargeDeclined``
is declined with ``generic_decline``. An Apple Pay token becomes a card PaymentMethod whose
``card.wallet.type`` is ``apple_pay`` (https://docs.stripe.com/apple-pay).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from server.payments.fakes.stripe_fake_forms import Obj, StripeFakeError, missing, only, text


@dataclass(frozen=True)
class CardProfile:
    brand: str
    last4: str
    decline: tuple[str, str] | None = None
    """``(code, decline_code)`` of the card error this card always gets."""
    needs_action: bool = False
    """3-D Secure: confirmation stops at ``requires_action``."""


TEST_CARDS = {
    "visa": CardProfile("visa", "4242"),
    "mastercard": CardProfile("mastercard", "4444"),
    "amex": CardProfile("amex", "8431"),
    "chargeDeclined": CardProfile("visa", "0002", decline=("card_declined", "generic_decline")),
    "chargeDeclinedInsufficientFunds": CardProfile(
        "visa", "9995", decline=("card_declined", "insufficient_funds")
    ),
    "chargeDeclinedExpiredCard": CardProfile(
        "visa", "0069", decline=("expired_card", "expired_card")
    ),
    "authenticationRequired": CardProfile("visa", "3184", needs_action=True),
}
_TOKEN_PARAMS = frozenset(
    {"pk_token", "pk_token_instrument_name", "pk_token_payment_network", "pk_token_transaction_id"}
)


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def now() -> int:
    return int(time.time())


class Cards:
    """Makes and remembers PaymentMethods and tokens in the account's shared object store."""

    def __init__(self, objects: dict[str, Obj]) -> None:
        self._objects = objects
        self._behaviour: dict[str, CardProfile] = {}
        """How each PaymentMethod behaves when charged (Stripe keeps this to itself)."""

    def card_of(self, method_id: str) -> CardProfile:
        return self._behaviour[method_id]

    def create_token(self, params: Obj) -> Obj:
        """An Apple Pay token, as Stripe makes one from PassKit's ``pk_token``."""
        only(params, _TOKEN_PARAMS)
        if not text(params, "pk_token"):
            raise StripeFakeError(400, "Missing required param: pk_token.", param="pk_token")
        token: Obj = {
            "id": new_id("tok"),
            "object": "token",
            "type": "card",
            "card": card_details(TEST_CARDS["visa"], wallet=True),
            "created": now(),
            "livemode": False,
            "used": False,
        }
        self._objects[token["id"]] = token
        return token

    def attach(self, intent: Obj, params: Obj) -> None:
        """Set the intent's payment method from ``payment_method`` or ``payment_method_data``."""
        method_id = text(params, "payment_method")
        method_data = params.get("payment_method_data")
        if method_id is not None and method_data is not None:
            raise StripeFakeError(
                400, "Pass payment_method or payment_method_data, not both.", param="payment_method"
            )
        if method_id is not None:
            intent["payment_method"] = self._method_by_id(method_id)
        elif method_data is not None:
            intent["payment_method"] = self._method_from_data(method_data)
        if intent["payment_method"] and intent["status"] == "requires_payment_method":
            intent["status"] = "requires_confirmation"

    def _method_by_id(self, method_id: str) -> str:
        if method_id in self._behaviour:
            return method_id
        card = TEST_CARDS.get(method_id.removeprefix("pm_card_"))
        if not method_id.startswith("pm_card_") or card is None:
            raise missing("PaymentMethod", method_id, "payment_method")
        # Stripe turns a test method such as pm_card_visa into a fresh pm_… of its own.
        return self._new_method(card, wallet=False)

    def _method_from_data(self, data: object) -> str:
        """``payment_method_data[type]=card`` with ``[card][token]``: a token becomes a card.

        A token from ``POST /v1/tokens``, or any ``tok_…`` that is not one of Stripe's plain
        test tokens (``tok_visa``, ``tok_chargeDeclined`` …), stands for an Apple Pay card.
        """
        card_data = data.get("card") if isinstance(data, dict) else None
        token = card_data.get("token") if isinstance(card_data, dict) else None
        if not isinstance(data, dict) or data.get("type") != "card" or not isinstance(token, str):
            raise StripeFakeError(
                400,
                "payment_method_data needs type=card and card[token]",
                param="payment_method_data",
            )
        stored = self._objects.get(token)
        if stored is not None and stored["object"] == "token":
            if stored["used"]:
                raise StripeFakeError(
                    400,
                    f"You cannot use a Stripe token more than once: {token}.",
                    code="token_already_used",
                    param="payment_method_data[card][token]",
                )
            stored["used"] = True
            return self._new_method(TEST_CARDS["visa"], wallet=True)
        if not token.startswith("tok_"):
            raise missing("token", token, "payment_method_data[card][token]")
        plain = TEST_CARDS.get(token.removeprefix("tok_"))
        return self._new_method(plain or TEST_CARDS["visa"], wallet=plain is None)

    def _new_method(self, card: CardProfile, *, wallet: bool) -> str:
        method_id = new_id("pm")
        self._objects[method_id] = {
            "id": method_id,
            "object": "payment_method",
            "type": "card",
            "card": card_details(card, wallet=wallet),
            "created": now(),
            "customer": None,
            "metadata": {},
            "livemode": False,
        }
        self._behaviour[method_id] = card
        return method_id


def card_details(card: CardProfile, *, wallet: bool) -> Obj:
    return {
        "brand": card.brand,
        "last4": card.last4,
        "exp_month": 12,
        "exp_year": 2034,
        "country": "GB",
        "funding": "credit",
        "tokenization_method": "apple_pay" if wallet else None,
        "wallet": {"type": "apple_pay", "apple_pay": {}} if wallet else None,
    }
