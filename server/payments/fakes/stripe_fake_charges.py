"""The fake Stripe's charges: what one confirmation attempt of a PaymentIntent leaves behind.

Shaped as the pinned API version's ``stripe.Charge`` (and Stripe's published example in
``tests/fakes/stripe-reference/fixtures3.json``). ``payment_method_details`` follows the
PaymentMethod: ``type == "card"`` for a card online, ``type == "card_present"`` for a card a
Terminal reader read (``stripe_fake_card_present``).
"""

from __future__ import annotations

from server.payments.fakes.stripe_fake_card_present import charge_details
from server.payments.fakes.stripe_fake_cards import (
    CardProfile,
    billing_details,
    card_details,
    new_id,
    now,
)
from server.payments.fakes.stripe_fake_forms import Obj


def new_charge(intent: Obj, method: Obj, card: CardProfile, *, reader: Obj | None) -> Obj:
    """A charge of ``intent`` to ``method``: paid, or failed as ``card`` always fails."""
    paid = card.decline is None
    charge_id = new_id("ch")
    return {
        "id": charge_id,
        "object": "charge",
        "amount": intent["amount"],
        "amount_captured": 0,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": None,
        "billing_details": billing_details(),
        "calculated_statement_descriptor": "FYNLO",
        "captured": False,
        "created": now(),
        "currency": intent["currency"],
        "customer": None,
        "description": intent["description"],
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": card.decline[0] if card.decline else None,
        "failure_message": None if paid else "Your card was declined.",
        "fraud_details": {},
        "livemode": False,
        "metadata": dict(intent["metadata"]),
        "on_behalf_of": None,
        "outcome": {
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "approved_by_network" if paid else "declined_by_network",
            "reason": None if paid else card.decline[1] if card.decline else None,
            "risk_level": "normal",
            "seller_message": "Payment complete." if paid else "The bank declined.",
            "type": "authorized" if paid else "issuer_declined",
        },
        "paid": paid,
        "payment_intent": intent["id"],
        "payment_method": method["id"],
        "payment_method_details": _method_details(intent, method, card, reader),
        "receipt_email": None,
        "receipt_number": None,
        "receipt_url": f"https://pay.stripe.com/receipts/fake/{charge_id}",
        "refunded": False,
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": intent["statement_descriptor_suffix"],
        "status": "succeeded" if paid else "failed",
        "transfer_data": None,
        "transfer_group": None,
    }


def _method_details(intent: Obj, method: Obj, card: CardProfile, reader: Obj | None) -> Obj:
    paid = card.decline is None
    if method["type"] == "card_present":
        return charge_details(method, intent, paid=paid, reader=reader)
    return {
        "type": "card",
        "card": {
            **card_details(card, wallet=method["card"]["wallet"] is not None),
            "amount_authorized": intent["amount"] if paid else None,
            "authorization_code": None,
            "network": card.brand,
            "network_transaction_id": None,
        },
    }
