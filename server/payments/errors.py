"""Payment errors; each code is documented in docs/errors.md."""

from __future__ import annotations

from server.errors import (
    ClientError,
    Conflict,
    Forbidden,
    NotFound,
    Unavailable,
    ValidationFailed,
)


class ProviderDown(Unavailable):
    """The provider did not answer, or its circuit is open; nothing was charged twice and a
    retry with the same Idempotency-Key carries on where this one stopped."""

    code = "payment.provider_unavailable"
    title = "The payment provider is unavailable; retry, or take another method"


class ExceedsRemaining(Conflict):
    code = "payment.exceeds_remaining"
    title = "The amount is more than is left to pay on the order"


class OrderNotPayable(Conflict):
    code = "payment.order_not_payable"
    title = "The order is voided or already paid"


class NotCancelable(Conflict):
    code = "payment.not_cancelable"
    title = "Only a payment still waiting for the customer can be canceled"


class NothingToAcknowledge(Conflict):
    """The payment is not on the attention list (nothing wrong, or already decided)."""

    code = "payment.nothing_to_acknowledge"
    title = "This payment needs no decision"


class NoReconcileRun(NotFound):
    """No ``fynlo reconcile`` has run over the restaurant yet (another's runs are not seen)."""

    code = "payment.no_reconcile_run"
    title = "No reconciliation has run for this restaurant yet"


class NotConfirmable(Conflict):
    """A new confirm of a payment that is not a card's, or that has already ended
    (succeeded, failed, canceled or expired)."""

    code = "payment.not_confirmable"
    title = "Only a card payment waiting for its card can be confirmed"


class QrExpired(ClientError):
    status = 410
    code = "payment.qr_expired"
    title = "This payment's QR code has expired or the payment has ended"


class NotRefundable(Conflict):
    """Not succeeded, or its bank money already went back to the payer (reversed)."""

    code = "refund.not_refundable"
    title = "Only a succeeded payment can be refunded"


class RefundExceedsCaptured(Conflict):
    code = "refund.exceeds_captured"
    title = "The refund is more than is left to refund on this payment"


class RefundNeedsApproval(Forbidden):
    """Past the employee's refund limit for the day; carries ``needs_approval``, the limits
    and what the employee has refunded today."""

    code = "refund.needs_approval"
    title = "This refund is past today's refund limit and needs a manager's approval"


class InvalidWebhook(ClientError):
    code = "webhook.invalid"
    title = "The webhook's signature, timestamp or body did not verify"


class UnknownWebhookTarget(NotFound):
    """Answered non-2xx on purpose, so the provider retries rather than drops the event."""

    code = "webhook.unknown_target"
    title = "No payment or refund matches this event yet"


class WebhookNotConfigured(NotFound):
    code = "webhook.not_configured"
    title = "This server takes no payments through that provider"


class ValidationUrlRefused(ValidationFailed):
    code = "apple_pay.validation_url"
    title = "The Apple Pay validation URL is not one of Apple's"


class NotCollectable(Conflict):
    """A collect or capture for a payment that is not a card in person, or that has ended."""

    code = "payment.not_collectable"
    title = "Only a card payment in person that has not ended can be collected or captured"


class TerminalNotSetUp(Conflict):
    code = "terminal.location_not_set_up"
    title = "This location has no Stripe Terminal location yet: a manager sets it up first"


class ReaderRefused(Conflict):
    """Stripe refused the reader request: busy with another payment, offline, or an invalid
    registration code. ``reason`` carries Stripe's code (e.g. ``terminal_reader_busy``)."""

    code = "terminal.reader_refused"
    title = "The card reader cannot do this now"


class CaptureHeld(Forbidden):
    """An offline card payment past the restaurant's offline limits: only a manager
    captures it (or cancels it, which releases the customer's card)."""

    code = "payment.capture_held"
    title = "This card payment was taken offline past the limits: a manager decides"
