"""Cards read in person: Stripe Terminal's test cards as ``card_present`` PaymentMethods.

A reader (a smart reader driven from the server, Tap to Pay on iPhone, or a payment the
Terminal SDK stored offline and forwarded later) turns the card it read into a
``card_present`` PaymentMethod, and the charge carries ``payment_method_details.type ==
"card_present"`` with the fields ``stripe.Charge.PaymentMethodDetails.CardPresent`` types
(``read_method``, ``reader``, ``receipt``, ``offline``, ``capture_before`` …).

Which card is read decides the outcome, as on Stripe's simulated readers
(https://docs.stripe.com/terminal/references/testing#simulated-test-cards, the numbers as the
Terminal SDKs' ``SimulatedCardType`` lists them, for example
https://stripe.dev/stripe-terminal-android/external/com.stripe.stripeterminal.external.models/-simulated-card-type/):
``4242424242424242`` pays; ``4000000000000002`` is declined ``card_declined`` /
``generic_decline``; ``4000000000009995`` ``insufficient_funds``; ``4000000000009987``
``lost_card``; ``4000000000009979`` ``stolen_card``; ``4000000000000069`` ``expired_card``;
``4000000000000119`` ``processing_error``. Any other number is refused: the simulated reader
only reads Stripe's test numbers (https://stripe.dev/stripe-terminal-ios/docs/Classes/SCPSimulatedCard.html).
A card_present payment never asks for 3-D Secure, so it never stops at ``requires_action``.

An uncaptured in-person authorisation lapses: Visa's after 5 days, every other brand's after
2 days (https://docs.stripe.com/payments/place-a-hold-on-a-payment-method, "card-present
transactions"; https://docs.stripe.com/payments/extended-authorization: "2 days for in-person
Terminal payments"). The charge says when in ``card_present.capture_before``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from server.payments.fakes.stripe_fake_cards import CardProfile, billing_details, new_id, now
from server.payments.fakes.stripe_fake_forms import Obj, StripeFakeError

DAY_SECONDS = 86_400
IN_PERSON_AUTHORIZATION_SECONDS = {"visa": 5 * DAY_SECONDS}
"""How long an in-person authorisation holds, by brand; any brand not named here: 2 days."""
DEFAULT_IN_PERSON_AUTHORIZATION_SECONDS = 2 * DAY_SECONDS
DEFAULT_TEST_CARD = "4242424242424242"
"""The card a simulated reader reads when the test does not name one."""
READ_METHOD = "contactless_emv"
"""Every card here is tapped (``Charge.PaymentMethodDetails.CardPresent.read_method``)."""


@dataclass(frozen=True)
class TestCard:
    number: str
    profile: CardProfile
    funding: str = "credit"


def _card(number: str, brand: str, decline: tuple[str, str] | None = None, **kw: str) -> TestCard:
    return TestCard(number, CardProfile(brand, number[-4:], decline=decline), **kw)


TERMINAL_TEST_CARDS = {
    card.number: card
    for card in [
        _card("4242424242424242", "visa"),
        _card("4000056655665556", "visa", funding="debit"),
        _card("5555555555554444", "mastercard"),
        _card("5200828282828210", "mastercard", funding="debit"),
        _card("5105105105105100", "mastercard", funding="prepaid"),
        _card("378282246310005", "amex"),
        _card("371449635398431", "amex"),
        _card("6011111111111117", "discover"),
        _card("4000000000000002", "visa", ("card_declined", "generic_decline")),
        _card("4000000000009995", "visa", ("card_declined", "insufficient_funds")),
        _card("4000000000009987", "visa", ("card_declined", "lost_card")),
        _card("4000000000009979", "visa", ("card_declined", "stolen_card")),
        _card("4000000000000069", "visa", ("expired_card", "expired_card")),
        _card("4000000000000119", "visa", ("processing_error", "processing_error")),
    ]
}
"""Stripe's Terminal test cards by number (see the module docstring for the source)."""

# EMV application identifiers and names a receipt prints (ISO/IEC 7816-5 registered AIDs).
_APPLICATIONS = {
    "visa": ("A0000000031010", "Visa"),
    "mastercard": ("A0000000041010", "Mastercard"),
    "amex": ("A00000002501", "American Express"),
    "discover": ("A0000001523010", "Discover"),
}
_ACCOUNT_TYPES = {"credit": "credit", "debit": "checking", "prepaid": "prepaid"}
_SHARED = (
    "brand", "brand_product", "cardholder_name", "country", "description", "exp_month",
    "exp_year", "fingerprint", "funding", "iin", "issuer", "last4", "preferred_locales",
    "read_method",
)  # fmt: skip
"""The fields a charge's ``card_present`` copies from the PaymentMethod's."""


def read_card(number: str | None, param: str) -> TestCard:
    """The test card a simulated reader reads; anything else is refused, as Stripe does."""
    card = TERMINAL_TEST_CARDS.get(number or DEFAULT_TEST_CARD)
    if card is None:
        raise StripeFakeError(
            400,
            f"The card number {number} is not one of Stripe's Terminal test cards.",
            code="invalid_number",
            param=param,
        )
    return card


def card_present_method(card: TestCard, *, stored_offline_at: int | None = None) -> Obj:
    """A ``card_present`` PaymentMethod (``stripe.PaymentMethod.CardPresent``) for ``card``.

    ``stored_offline_at``: when the Terminal SDK stored it offline; the method then says so in
    ``card_present.offline`` (``type`` is always ``deferred``, docs.stripe.com/changelog/acacia/
    2024-09-30/terminal-offline-details-card-present-paymentmethods).
    """
    brand = card.profile.brand
    return {
        "id": new_id("pm"),
        "object": "payment_method",
        "allow_redisplay": "unspecified",
        "billing_details": billing_details(),
        "card_present": {
            **_card_fields(card),
            "networks": {"available": [brand], "preferred": None},
            "offline": _offline(stored_offline_at),
            "wallet": None,
        },
        "created": now(),
        "customer": None,
        "customer_account": None,
        "livemode": False,
        "metadata": {},
        "type": "card_present",
    }


def charge_details(method: Obj, intent: Obj, *, paid: bool, reader: Obj | None) -> Obj:
    """A charge's ``payment_method_details`` for a card read in person (by ``reader``, if known)."""
    present = method["card_present"]
    brand = present["brand"]
    held = paid and intent["capture_method"] == "manual"
    shared = {key: present[key] for key in _SHARED}
    return {
        "type": "card_present",
        "card_present": {
            **shared,
            "amount_authorized": intent["amount"] if paid else None,
            "capture_before": now() + authorization_seconds(brand) if held else None,
            "emv_auth_data": "8A023030" if paid else "8A023035",
            "generated_card": None,
            "incremental_authorization_supported": False,
            "location": reader["location"] if reader else None,
            "network": brand,
            "network_transaction_id": None,
            "offline": present["offline"],
            "overcapture_supported": False,
            "reader": reader["id"] if reader else None,
            "receipt": _receipt(present, paid=paid),
            "wallet": None,
        },
    }


def authorization_seconds(brand: str) -> int:
    """How long an uncaptured in-person authorisation of ``brand`` holds."""
    return IN_PERSON_AUTHORIZATION_SECONDS.get(brand, DEFAULT_IN_PERSON_AUTHORIZATION_SECONDS)


def _card_fields(card: TestCard) -> Obj:
    """What a PaymentMethod's ``card_present`` and a charge's ``card_present`` share."""
    profile = card.profile
    return {
        "brand": profile.brand,
        "brand_product": None,
        "cardholder_name": None,
        "country": "GB",
        "description": None,
        "exp_month": 12,
        "exp_year": 2030,
        "fingerprint": "fp" + hashlib.sha256(card.number.encode()).hexdigest()[:14],
        "funding": card.funding,
        "iin": card.number[:6],
        "issuer": None,
        "last4": profile.last4,
        "preferred_locales": ["en"],
        "read_method": READ_METHOD,
    }


def _offline(stored_at: int | None) -> Obj | None:
    return None if stored_at is None else {"stored_at": stored_at, "type": "deferred"}


def _receipt(present: Obj, *, paid: bool) -> Obj:
    """The EMV fields a receipt prints (docs.stripe.com/terminal/features/receipts)."""
    aid, name = _APPLICATIONS.get(present["brand"], ("A0000000000000", present["brand"]))
    return {
        "account_type": _ACCOUNT_TYPES[present["funding"]],
        "application_cryptogram": str(present["fingerprint"])[2:].upper().ljust(16, "0"),
        "application_preferred_name": name,
        "authorization_code": "123456" if paid else None,
        "authorization_response_code": "3030" if paid else "3035",
        "cardholder_verification_method": "none",
        "dedicated_file_name": aid,
        "terminal_verification_results": "0000000000",
        "transaction_status_information": "0000",
    }


def apply_tip(intent: Obj, tip: int) -> None:
    """Add the tip the customer chose on the reader to the intent's amount.

    Stripe adds an on-reader tip to the PaymentIntent's ``amount`` and records it in
    ``amount_details.tip.amount`` (docs.stripe.com/terminal/features/collect-tips/on-reader).
    A tip from an earlier, declined attempt is replaced, never added twice.
    """
    if tip < 0:
        raise StripeFakeError(400, "Invalid non-negative integer", param="amount_tip")
    earlier = intent["amount_details"].get("tip", {}).get("amount") or 0
    intent["amount"] += tip - earlier
    intent["amount_details"]["tip"] = {"amount": tip} if tip else {}
