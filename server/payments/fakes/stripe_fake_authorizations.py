"""Uncaptured in-person authorisations lapse, as Stripe lets them.

A ``card_present`` PaymentIntent left at ``requires_capture`` holds the customer's money only
until its charge's ``payment_method_details.card_present.capture_before``: 5 days for Visa,
2 days for other brands (docs.stripe.com/payments/place-a-hold-on-a-payment-method,
"card-present transactions"; see ``stripe_fake_card_present``). After that the funds are
released and the PaymentIntent is canceled (same page: "If the authorization expires before
you capture the funds, the funds are released and the payment status changes to canceled").

Tests cannot wait days, so ``age`` (behind ``POST /_fake/authorizations/age``) makes every
uncaptured in-person authorisation older and lets those past their window lapse at once,
with ``charge.expired`` and ``payment_intent.canceled``.
"""

from __future__ import annotations

from server.payments.fakes.stripe_fake_cards import now
from server.payments.fakes.stripe_fake_ledger import Ledger


def age(ledger: Ledger, seconds: int) -> list[str]:
    """Move every uncaptured in-person authorisation ``seconds`` closer to its end.

    Returns the PaymentIntents whose authorisation lapsed (now canceled).
    """
    lapsed = []
    for found in list(ledger.objects.values()):
        if found["object"] != "payment_intent" or found["status"] != "requires_capture":
            continue
        details = ledger.objects[found["latest_charge"]]["payment_method_details"]
        present = details.get("card_present")
        if present is None or present["capture_before"] is None:
            continue
        present["capture_before"] -= seconds
        if present["capture_before"] <= now():
            ledger.expire_authorization(found)
            lapsed.append(str(found["id"]))
    return lapsed
