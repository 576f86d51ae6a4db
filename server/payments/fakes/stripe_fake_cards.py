"""The fake Stripe's payment methods: Stripe's test cards, and Apple Pay tokens as cards.

Stripe's test mode decides an outcome by the payment method
(https://docs.stripe.com/testing#cards): ``pm_card_visa`` pays, ``pm_card_chargeDeclined``
is declined with ``generic_decline``. A token becomes a card PaymentMethod through
``POST /v1/payment_methods`` with ``type=card`` and ``card[token]`` (the SDK's
``PaymentMethodCreateParamsCard.token``); one made from PassKit's ``pk_token`` is an Apple
Pay card, ``card.wallet.type`` ``apple_pay`` (https://docs.stripe.com/apple-pay). The only
other tokens are Stripe's documented test tokens (``tok_visa``, ``tok_chargeDeclined`` …,
https://docs.stripe.com/testing#tokens): any other ``tok_…`` is ``resource_missing``, and a
made token is single use. On the pinned API version ``payment_method_data`` has no ``card``:
the SDK's typed parameters refuse it, and so does the fake (``stripe_fake_params``).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from server.payments.fakes.stripe_fake_forms import (
    Obj,
    StripeFakeError,
    metadata,
    missing,
    only,
    text,
)


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
    "chargeDeclinedLostCard": CardProfile("visa", "9987", decline=("card_declined", "lost_card")),
    "chargeDeclinedStolenCard": CardProfile(
        "visa", "9979", decline=("card_declined", "stolen_card")
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
        self._readers: dict[str, str | None] = {}

    def card_of(self, method_id: str) -> CardProfile:
        return self._behaviour[method_id]

    def register(self, method: Obj, card: CardProfile, *, reader: str | None = None) -> str:
        """Keep a PaymentMethod made elsewhere (a card read in person, by ``reader`` if known)."""
        self._objects[method["id"]] = method
        self._behaviour[method["id"]] = card
        self._readers[method["id"]] = reader
        return str(method["id"])

    def reader_of(self, method_id: str) -> str | None:
        """The Terminal reader that read this card, if it was read in person by a known one."""
        return self._readers.get(method_id)

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

    def create_method(self, params: Obj) -> Obj:
        """``POST /v1/payment_methods``: a card from a token (Apple Pay's, or a test token)."""
        if params.get("type") != "card":
            raise StripeFakeError(
                400, "The fake Stripe makes card PaymentMethods only.", param="type"
            )
        card = params.get("card")
        if not isinstance(card, dict) or set(card) != {"token"}:
            # Raw card numbers need Stripe's special permission; a till never sends them.
            raise StripeFakeError(
                400,
                "Sending credit card numbers directly to the Stripe API is generally unsafe. "
                "Use a token: card[token].",
                param="card",
            )
        method_id = self._method_from_token(str(card["token"]), "card[token]")
        method = self._objects[method_id]
        method["metadata"] = metadata(params)
        return method

    def attach(self, intent: Obj, params: Obj) -> None:
        """Set the intent's payment method from ``payment_method``."""
        method_id = text(params, "payment_method")
        if method_id is not None and params.get("payment_method_data") is not None:
            raise StripeFakeError(
                400, "Pass payment_method or payment_method_data, not both.", param="payment_method"
            )
        if params.get("payment_method_data") is not None:
            raise StripeFakeError(
                400,
                "The fake Stripe makes card PaymentMethods with POST /v1/payment_methods only.",
                param="payment_method_data[type]",
            )
        if method_id is not None:
            intent["payment_method"] = _allowed(
                intent, self._objects[self._method_by_id(method_id)]
            )
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

    def _method_from_token(self, token: str, param: str) -> str:
        stored = self._objects.get(token)
        if stored is not None and stored["object"] == "token":
            if stored["used"]:
                raise StripeFakeError(
                    400,
                    f"You cannot use a Stripe token more than once: {token}.",
                    code="token_already_used",
                    param=param,
                )
            stored["used"] = True
            return self._new_method(TEST_CARDS["visa"], wallet=True)
        plain = TEST_CARDS.get(token.removeprefix("tok_")) if token.startswith("tok_") else None
        if plain is None:
            raise StripeFakeError(
                400, f"No such token: '{token}'", code="resource_missing", param=param
            )
        return self._new_method(plain, wallet=False)

    def _new_method(self, card: CardProfile, *, wallet: bool) -> str:
        method_id = new_id("pm")
        self._objects[method_id] = {
            "id": method_id,
            "object": "payment_method",
            "allow_redisplay": "unspecified",
            "billing_details": billing_details(),
            "type": "card",
            "card": {
                **card_details(card, wallet=wallet),
                "display_brand": card.brand,
                "generated_from": None,
                "networks": {"available": [card.brand], "preferred": None},
                "three_d_secure_usage": {"supported": True},
            },
            "created": now(),
            "customer": None,
            "customer_account": None,
            "metadata": {},
            "livemode": False,
        }
        self._behaviour[method_id] = card
        return method_id


def _allowed(intent: Obj, method: Obj) -> str:
    """A method of a type the intent takes (a card online is refused by a card_present intent)."""
    allowed = intent["payment_method_types"]
    if method["type"] not in allowed:
        raise StripeFakeError(
            400,
            f"The PaymentMethod provided ({method['type']}) is not allowed for this "
            f"PaymentIntent. Please attach a PaymentMethod of one of the following types: "
            f"{', '.join(allowed)}.",
            code="payment_intent_incompatible_payment_method",
            param="payment_method",
        )
    return str(method["id"])


def billing_details() -> Obj:
    address = dict.fromkeys(["city", "country", "line1", "line2", "postal_code", "state"])
    return {"address": address, "email": None, "name": None, "phone": None, "tax_id": None}


def card_details(card: CardProfile, *, wallet: bool) -> Obj:
    """A card's fields as a PaymentMethod and a charge's ``payment_method_details`` show them."""
    return {
        "brand": card.brand,
        "checks": {"address_line1_check": None, "address_postal_code_check": None,
                   "cvc_check": None},
        "country": "GB",
        "exp_month": 12,
        "exp_year": 2034,
        "fingerprint": f"fp{card.last4}{card.brand}",
        "funding": "credit",
        "last4": card.last4,
        "regulated_status": "unregulated",
        "wallet": (
            {"type": "apple_pay", "apple_pay": {}, "dynamic_last4": card.last4}
            if wallet else None
        ),
    }  # fmt: skip
