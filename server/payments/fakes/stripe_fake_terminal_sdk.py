"""What the Stripe Terminal iOS SDK on the iPad does at Stripe, for the fake's test controls.

With Tap to Pay on iPhone/iPad the SDK, not our server, collects the card and confirms the
PaymentIntent (docs.stripe.com/terminal/payments/collect-card-payment?terminal-sdk-platform=ios):
``collectPaymentMethod`` reads the tapped card, ``confirmPaymentIntent`` confirms the intent
with it. Our server never drives that, so tests play the iPad through ``/_fake/terminal/tap``,
which does what those two calls do to a ``card_present`` intent on a ``mobile_phone_reader``.

Offline, the SDK stores the payment and forwards it when it reconnects: only then is the
PaymentIntent created and confirmed at Stripe, carrying the metadata the app set offline,
and its charge's ``card_present.offline`` is ``{stored_at, type: "deferred"}``
(docs.stripe.com/terminal/features/operate-offline/collect-payments;
``stripe.Charge.PaymentMethodDetails.CardPresent.Offline``). A forwarded payment the issuer
declines is left as any declined card_present confirmation: ``requires_payment_method`` with
``last_payment_error``, after ``payment_intent.payment_failed``.
"""

from __future__ import annotations

import time

from server.payments.fakes.stripe_fake_card_present import card_present_method, read_card
from server.payments.fakes.stripe_fake_cards import new_id
from server.payments.fakes.stripe_fake_forms import Obj
from server.payments.fakes.stripe_fake_ledger import Ledger
from server.payments.fakes.stripe_fake_terminal import in_person_intent, pay_in_person

MOBILE_READER_LABEL = "Tap to Pay on iPad"


def tap_to_pay(ledger: Ledger, intent_id: str, number: str | None, tip: int) -> Obj:
    """Collect and confirm a tapped card on the iPad; a decline raises Stripe's card error."""
    intent = in_person_intent(ledger, intent_id, "payment_intent")
    card = read_card(number, "number")
    reader = _mobile_reader(ledger)
    error = pay_in_person(ledger, intent, card_present_method(card), card, tip, reader=reader)
    if error is not None:
        raise error
    return ledger.render(intent, {})


def forward_offline(
    ledger: Ledger,
    *,
    amount: int,
    currency: str,
    metadata: dict[str, str],
    capture_method: str,
    number: str | None,
    tip: int,
    stored_at: int | None,
) -> Obj:
    """Create and confirm the PaymentIntent of a payment the SDK stored offline."""
    card = read_card(number, "number")
    created = ledger.create_intent(
        {
            "amount": str(amount),
            "currency": currency,
            "allowed_payment_method_types": ["card_present"],
            "capture_method": capture_method,
            "metadata": metadata,
        }
    )
    intent = ledger.get("payment_intent", created["id"])
    stored = int(time.time()) if stored_at is None else stored_at
    method = card_present_method(card, stored_offline_at=stored)
    pay_in_person(ledger, intent, method, card, tip, reader=_mobile_reader(ledger))
    return ledger.render(intent, {})


def _mobile_reader(ledger: Ledger) -> str:
    """The iPad as a Terminal reader: registered the first time the SDK connects to it."""
    for found in ledger.objects.values():
        if found["object"] == "terminal.reader" and found["device_type"] == "mobile_phone_reader":
            return str(found["id"])
    reader: Obj = {
        "id": new_id("tmr"),
        "object": "terminal.reader",
        "action": None,
        "device_sw_version": None,
        "device_type": "mobile_phone_reader",
        "ip_address": None,
        "label": MOBILE_READER_LABEL,
        "last_seen_at": int(time.time() * 1000),
        "livemode": False,
        "location": None,
        "metadata": {},
        "serial_number": new_id("ipad"),
        "status": None,
    }
    ledger.objects[reader["id"]] = reader
    return str(reader["id"])
