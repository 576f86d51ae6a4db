"""Payment HTTP handlers. Every mutating one requires an ``Idempotency-Key`` header."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post, put
from litestar.di import NamedDependency
from litestar.params import (
    FromPath,
    FromQuery,
    HeaderParameter,
    JSONBody,
    Parameter,
    QueryParameter,
)

from server.auth import approvals
from server.auth.dependencies import APPROVAL_HEADER, PUBLIC, allow
from server.auth.permissions import Permission
from server.auth.tokens import Caller
from server.errors import ValidationFailed
from server.payments import (
    attention,
    idempotency,
    in_person,
    merchant_accounts,
    offline_cards,
    qr,
    quotes,
    reconcile_runs,
    refund_limits,
    refunds,
    reports,
    services,
    terminal,
    webhooks,
)
from server.payments import errors as e
from server.payments import schemas as s
from server.payments.apple_pay import merchant_session

# Required: ``idempotency.check_key`` refuses a request without one (400, naming the header).
# Typed ``str | None`` so that it, not Litestar, words the refusal; the bounds below are the
# ones it checks (1 to 255 printable characters; HTTP trims spaces at either end).
IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name=idempotency.KEY_HEADER,
        description="Required. Unique per intended operation (a UUID); a retry sends the same"
        " one. 1 to 255 printable ASCII characters.",
        required=True,
        schema_extra={"min_length": 1, "max_length": 255, "pattern": r"^[!-~]([ -~]*[!-~])?$"},
    ),
]
# Providers sign every webhook; ``webhooks.receive`` refuses one without a signature that
# verifies on the raw body (400 ``webhook.invalid``). Declared here so the document says so.
StripeSignature = Annotated[
    str | None,
    HeaderParameter(
        name="Stripe-Signature",
        description="Required. Stripe's signature of the raw body (`t=...,v1=...`).",
        required=True,
        schema_extra={"min_length": 1},
    ),
]
TlSignature = Annotated[
    str | None,
    HeaderParameter(
        name="Tl-Signature",
        description="Required. TrueLayer's JWS signature of the raw body and headers.",
        required=True,
        schema_extra={"min_length": 1},
    ),
]
TlTimestamp = Annotated[
    str | None,
    HeaderParameter(
        name="X-TL-Webhook-Timestamp",
        description="Required. When TrueLayer signed it (RFC 3339, within 300 s of now).",
        required=True,
        schema_extra={"min_length": 1},
    ),
]
JSON = "application/json"
_MUTATION_ERRORS: tuple[type[Exception], ...] = (
    idempotency.KeyReused,
    idempotency.KeyInProgress,
    e.ProviderDown,
)


def _answer(answer: tuple[int, bytes]) -> Response[bytes]:
    status, body = answer
    return Response(content=body, status_code=status, media_type=JSON)


class PaymentController(Controller):
    path = "/api/v1/payments"
    tags = ["payments"]

    @post(
        summary="Take a payment towards an order (QR pay-by-bank, card, Apple Pay or cash)",
        status_code=201,
        opt=allow(Permission.payments_take)
        | {"errors": (*_MUTATION_ERRORS, e.ExceedsRemaining, e.OrderNotPayable)},
    )
    async def create_payment(
        self,
        request: Request[Any, Any, Any],
        caller: NamedDependency[Caller],
        data: JSONBody[s.CreatePayment],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[s.Payment]:
        answer = await services.create_payment(
            restaurant_id=caller.restaurant_id,
            location_id=caller.location_id,
            employee_id=caller.employee_id,
            device_id=caller.device_id,
            data=data,
            key=idempotency.check_key(idempotency_key),
            body=await request.body(),
        )
        return _answer(answer)  # type: ignore[return-value]

    @get("/{payment_id:uuid}", summary="One payment", opt=allow(Permission.payments_view))
    async def get_payment(
        self, caller: NamedDependency[Caller], payment_id: FromPath[UUID]
    ) -> s.Payment:
        return await services.get_payment(
            restaurant_id=caller.restaurant_id,
            location_id=caller.location_id,
            payment_id=payment_id,
        )

    @post(
        "/{payment_id:uuid}/confirm",
        status_code=200,
        summary="Charge a waiting card payment with the card reader's PaymentMethod",
        opt=allow(Permission.payments_take) | {"errors": (*_MUTATION_ERRORS, e.NotConfirmable)},
    )
    async def confirm_card(
        self,
        request: Request[Any, Any, Any],
        caller: NamedDependency[Caller],
        payment_id: FromPath[UUID],
        data: JSONBody[s.ConfirmCard],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[s.Payment]:
        answer = await services.confirm_card(
            restaurant_id=caller.restaurant_id,
            location_id=caller.location_id,
            payment_id=payment_id,
            data=data,
            key=idempotency.check_key(idempotency_key),
            body=await request.body(),
        )
        return _answer(answer)  # type: ignore[return-value]

    @post(
        "/{payment_id:uuid}/cancel",
        status_code=200,
        summary="Cancel a payment still waiting for the customer",
        opt=allow(Permission.payments_take) | {"errors": (*_MUTATION_ERRORS, e.NotCancelable)},
    )
    async def cancel_payment(
        self,
        request: Request[Any, Any, Any],
        caller: NamedDependency[Caller],
        payment_id: FromPath[UUID],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[s.Payment]:
        answer = await services.cancel_payment(
            restaurant_id=caller.restaurant_id,
            location_id=caller.location_id,
            payment_id=payment_id,
            key=idempotency.check_key(idempotency_key),
            body=await request.body(),
        )
        return _answer(answer)  # type: ignore[return-value]

    @post(
        "/{payment_id:uuid}/collect",
        status_code=200,
        summary="Send a card-in-person payment to a card reader at its location",
        opt=allow(Permission.payments_take)
        | {"errors": (*_MUTATION_ERRORS, e.NotCollectable, e.ReaderRefused)},
    )
    async def collect(
        self,
        request: Request[Any, Any, Any],
        caller: NamedDependency[Caller],
        payment_id: FromPath[UUID],
        data: JSONBody[s.Collect],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[s.Payment]:
        answer = await in_person.collect(
            restaurant_id=caller.restaurant_id,
            location_id=caller.location_id,
            payment_id=payment_id,
            data=data,
            key=idempotency.check_key(idempotency_key),
            body=await request.body(),
        )
        return _answer(answer)  # type: ignore[return-value]

    @post(
        "/{payment_id:uuid}/capture",
        status_code=200,
        summary="Capture a card-in-person payment once its card is authorised",
        opt=allow(Permission.payments_take)
        | {"errors": (*_MUTATION_ERRORS, e.NotCollectable, e.CaptureHeld)},
    )
    async def capture(
        self,
        request: Request[Any, Any, Any],
        caller: NamedDependency[Caller],
        payment_id: FromPath[UUID],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[s.Payment]:
        answer = await in_person.capture(
            restaurant_id=caller.restaurant_id,
            location_id=caller.location_id,
            role=caller.role,
            payment_id=payment_id,
            key=idempotency.check_key(idempotency_key),
            body=await request.body(),
        )
        return _answer(answer)  # type: ignore[return-value]

    @get(
        "/{payment_id:uuid}/qr.png",
        summary="QR code of the pay-by-bank link, PNG (gone once expired)",
        media_type="image/png",
        opt=allow(Permission.payments_take) | {"errors": (e.QrExpired,)},
    )
    async def qr_png(self, caller: NamedDependency[Caller], payment_id: FromPath[UUID]) -> bytes:
        link = await qr.payment_link(
            restaurant_id=caller.restaurant_id,
            location_id=caller.location_id,
            payment_id=payment_id,
        )
        return qr.png(link)

    @get(
        "/{payment_id:uuid}/qr.svg",
        summary="QR code of the pay-by-bank link, SVG (gone once expired)",
        media_type="image/svg+xml",
        opt=allow(Permission.payments_take) | {"errors": (e.QrExpired,)},
    )
    async def qr_svg(self, caller: NamedDependency[Caller], payment_id: FromPath[UUID]) -> bytes:
        link = await qr.payment_link(
            restaurant_id=caller.restaurant_id,
            location_id=caller.location_id,
            payment_id=payment_id,
        )
        return qr.svg(link)

    @post(
        "/{payment_id:uuid}/refunds",
        status_code=201,
        summary="Refund all or part of a payment (managers; a cashier with approval; anyone"
        " past their daily refund limit with another manager's approval)",
        opt=allow(Permission.payments_refund)
        | {
            "errors": (
                *_MUTATION_ERRORS,
                e.NotRefundable,
                e.RefundExceedsCaptured,
                e.RefundNeedsApproval,
            )
        },
    )
    async def refund_payment(
        self,
        request: Request[Any, Any, Any],
        caller: NamedDependency[Caller],
        payment_id: FromPath[UUID],
        data: JSONBody[s.CreateRefund],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[s.Refund]:
        async def approve() -> UUID | None:
            """Spend the request's approval, if it carries one, for the refund limit."""
            token = request.headers.get(APPROVAL_HEADER)
            if not token:
                return None
            approver = await approvals.spend(
                request.app.state.signing_keys,
                token,
                permission=Permission.payments_refund,
                caller=caller,
            )
            request.state.approved_by = approver  # the audit log names who approved
            return approver

        refunder = refund_limits.Refunder(
            actor_id=caller.actor_id,
            role=caller.role,
            approved_by=request.state.get("approved_by"),
            approve=approve,
        )
        answer = await refunds.refund_payment(
            restaurant_id=caller.restaurant_id,
            location_id=caller.location_id,
            refunder=refunder,
            payment_id=payment_id,
            data=data,
            key=idempotency.check_key(idempotency_key),
            body=await request.body(),
        )
        return _answer(answer)  # type: ignore[return-value]

    @get(
        "/{payment_id:uuid}/refunds",
        summary="A payment's refunds, oldest first",
        opt=allow(Permission.payments_view),
    )
    async def list_refunds(
        self, caller: NamedDependency[Caller], payment_id: FromPath[UUID]
    ) -> list[s.Refund]:
        await services.get_payment(
            restaurant_id=caller.restaurant_id,
            location_id=caller.location_id,
            payment_id=payment_id,
        )
        return await refunds.list_refunds(
            restaurant_id=caller.restaurant_id,
            location_id=caller.location_id,
            payment_id=payment_id,
        )

    @get(
        "/quote",
        summary="Each method's fees for an amount, and what the customer would pay",
        opt=allow(Permission.payments_take),
    )
    async def quote(
        self,
        caller: NamedDependency[Caller],
        amount: Annotated[
            int,
            QueryParameter(
                description="Minor units",
                schema_extra={"minimum": 1, "maximum": s.MAX_AMOUNT},  # as checked below
            ),
        ],
    ) -> s.Quote:
        if not 0 < amount <= s.MAX_AMOUNT:
            raise ValidationFailed(
                f"amount must be 1 to {s.MAX_AMOUNT} minor units", field="amount"
            )
        return await quotes.quote(restaurant_id=caller.restaurant_id, amount=amount)

    @get(
        "/policy", summary="The restaurant's surcharge policy", opt=allow(Permission.payments_take)
    )
    async def get_policy(self, caller: NamedDependency[Caller]) -> s.Policy:
        return await quotes.get_policy(restaurant_id=caller.restaurant_id)

    @put(
        "/policy",
        summary="Absorb card fees, or offer customers to pay them",
        opt=allow(Permission.payments_manage),
    )
    async def set_policy(
        self, caller: NamedDependency[Caller], data: JSONBody[s.PolicyUpdate]
    ) -> s.Policy:
        return await quotes.set_policy(restaurant_id=caller.restaurant_id, surcharge=data.surcharge)

    @get(
        "/refund-limits",
        summary="What one employee may refund in a day before each refund needs an approval",
        opt=allow(Permission.payments_view),
    )
    async def get_refund_limits(self, caller: NamedDependency[Caller]) -> s.RefundLimits:
        return await refund_limits.get_limits(restaurant_id=caller.restaurant_id)

    @put(
        "/refund-limits",
        summary="Set the daily refund limits (an owner raises them; a manager may lower them)",
        opt=allow(Permission.payments_manage),
    )
    async def set_refund_limits(
        self, caller: NamedDependency[Caller], data: JSONBody[s.RefundLimitsUpdate]
    ) -> s.RefundLimits:
        return await refund_limits.set_limits(
            restaurant_id=caller.restaurant_id, role=caller.role, update=data
        )

    @get(
        "/offline-card-limits",
        summary="How much may be taken by card with no network, per payment and per iPad",
        opt=allow(Permission.payments_view),
    )
    async def get_offline_card_limits(self, caller: NamedDependency[Caller]) -> s.OfflineCardLimits:
        return await offline_cards.get_limits(restaurant_id=caller.restaurant_id)

    @put(
        "/offline-card-limits",
        summary="Set the offline card limits (an owner raises them; a manager may lower them)",
        opt=allow(Permission.payments_manage),
    )
    async def set_offline_card_limits(
        self, caller: NamedDependency[Caller], data: JSONBody[s.OfflineCardLimitsUpdate]
    ) -> s.OfflineCardLimits:
        return await offline_cards.set_limits(
            restaurant_id=caller.restaurant_id, role=caller.role, update=data
        )

    @get(
        "/merchant-accounts",
        summary="The restaurant's own pay-by-bank merchant accounts, per currency",
        opt=allow(Permission.payments_manage),
    )
    async def list_merchant_accounts(
        self, caller: NamedDependency[Caller]
    ) -> list[s.MerchantAccount]:
        return await merchant_accounts.list_accounts(restaurant_id=caller.restaurant_id)

    @put(
        "/merchant-accounts/{currency:str}",
        summary="Be paid by bank into the restaurant's own merchant account (owners only)",
        opt=allow(Permission.payments_manage),
    )
    async def set_merchant_account(
        self,
        caller: NamedDependency[Caller],
        currency: Annotated[str, Parameter(pattern="^[A-Z]{3}$", description="ISO 4217")],
        data: JSONBody[s.MerchantAccountSetup],
    ) -> s.MerchantAccount:
        return await merchant_accounts.set_account(
            restaurant_id=caller.restaurant_id, role=caller.role, currency=currency, data=data
        )

    @get(
        "/attention",
        summary="Payments a manager must decide on: late, stalled, reversed, declined offline",
        opt=allow(Permission.payments_manage),
    )
    async def attention_list(self, caller: NamedDependency[Caller]) -> list[s.PaymentAttention]:
        return await attention.attention(
            restaurant_id=caller.restaurant_id, location_id=caller.location_id
        )

    @get(
        "/reconcile/latest",
        summary="The latest reconciliation with the providers' books and what it found",
        description=(
            "The newest `fynlo reconcile` run over this restaurant (or over every restaurant)"
            " with its findings that are this restaurant's; 404 `payment.no_reconcile_run`"
            " before the first. A manager signed in on an iPad sees their location's only."
        ),
        opt=allow(Permission.payments_manage) | {"errors": (e.NoReconcileRun,)},
    )
    async def reconcile_latest(self, caller: NamedDependency[Caller]) -> s.ReconcileRun:
        run = await reconcile_runs.latest(
            restaurant_id=caller.restaurant_id, location_id=caller.location_id
        )
        if run is None:
            raise e.NoReconcileRun("no reconciliation has run for this restaurant yet")
        return run

    @post(
        "/{payment_id:uuid}/acknowledge",
        status_code=200,
        summary="A manager's decision on a listed payment: keep it, accept it, stop waiting",
        opt=allow(Permission.payments_manage) | {"errors": (e.NothingToAcknowledge,)},
    )
    async def acknowledge(
        self,
        caller: NamedDependency[Caller],
        payment_id: FromPath[UUID],
        data: JSONBody[s.Acknowledgement],
    ) -> s.PaymentAttention:
        item = await attention.acknowledge(
            restaurant_id=caller.restaurant_id,
            location_id=caller.location_id,
            employee_id=caller.employee_id,
            payment_id=payment_id,
        )
        if item is None:
            raise e.NothingToAcknowledge(field="payment_id")
        return item

    @get(
        "/reports/daily",
        summary="Takings, tips, refunds and fees per day and method",
        opt=allow(Permission.reports_view),
    )
    async def daily_report(
        self,
        caller: NamedDependency[Caller],
        start: FromQuery[date],
        end: Annotated[
            date, QueryParameter(description="On or after `start`, at most 366 days later")
        ],
        location_id: FromQuery[UUID | None] = None,
    ) -> list[s.DailyRevenue]:
        if end < start or (end - start).days > 366:
            raise ValidationFailed(
                "end must be on or after start, at most a year later", field="end"
            )
        return await reports.daily_revenue(
            restaurant_id=caller.restaurant_id,
            location_id=caller.location_id or location_id,
            start=start,
            end=end,
        )

    @post(
        "/apple-pay/merchant-session",
        status_code=200,
        summary="Validate an Apple Pay on the web session with Apple",
        opt=allow(Permission.payments_take) | {"errors": (e.ValidationUrlRefused, e.ProviderDown)},
    )
    async def apple_pay_session(
        self, caller: NamedDependency[Caller], data: JSONBody[s.MerchantSessionRequest]
    ) -> dict[str, Any]:
        return await merchant_session(validation_url=data.validation_url, domain=data.domain)


class TerminalController(Controller):
    """Stripe Terminal: each location's registration, its readers, the iPad's tokens."""

    path = "/api/v1/payments/terminal"
    tags = ["payments"]

    @put(
        "/locations/{location_id:uuid}",
        summary="Register a location with Stripe Terminal (once; its address is required)",
        opt=allow(Permission.payments_manage) | {"errors": (e.ProviderDown,)},
    )
    async def set_up_location(
        self,
        caller: NamedDependency[Caller],
        location_id: FromPath[UUID],
        data: JSONBody[s.TerminalLocationSetup],
    ) -> s.TerminalLocation:
        return await terminal.set_up_location(
            restaurant_id=caller.restaurant_id, location_id=location_id, data=data
        )

    @post(
        "/connection-token",
        status_code=200,
        summary="A connection token for the iPad's Terminal SDK, for its own location",
        opt=allow(Permission.payments_terminal) | {"errors": (e.TerminalNotSetUp, e.ProviderDown)},
    )
    async def connection_token(self, caller: NamedDependency[Caller]) -> s.ConnectionToken:
        if caller.location_id is None:
            # The back office is at no location, so it has no Terminal location to connect to.
            raise e.TerminalNotSetUp(
                "connection tokens are for enrolled iPads, at their own location"
            )
        return await terminal.connection_token(
            restaurant_id=caller.restaurant_id, location_id=caller.location_id
        )

    @post(
        "/readers",
        status_code=201,
        summary="Register a card reader at a location with the code it shows",
        opt=allow(Permission.payments_manage) | {"errors": (e.TerminalNotSetUp, e.ProviderDown)},
    )
    async def register_reader(
        self, caller: NamedDependency[Caller], data: JSONBody[s.ReaderRegistration]
    ) -> s.Reader:
        return await terminal.register_reader(restaurant_id=caller.restaurant_id, data=data)

    @get(
        "/readers",
        summary="The card readers of a location (an iPad sees its own location's)",
        opt=allow(Permission.payments_view),
    )
    async def list_readers(
        self, caller: NamedDependency[Caller], location_id: FromQuery[UUID | None] = None
    ) -> list[s.Reader]:
        return await terminal.list_readers(
            restaurant_id=caller.restaurant_id, location_id=caller.location_id or location_id
        )


class OrderPaymentsController(Controller):
    path = "/api/v1/orders/{order_id:uuid}/payments"
    tags = ["payments"]

    @get(
        summary="What is paid, waiting and left to pay on an order",
        opt=allow(Permission.payments_view),
    )
    async def order_payments(
        self, caller: NamedDependency[Caller], order_id: FromPath[UUID]
    ) -> s.OrderPayments:
        return await services.order_payments(
            restaurant_id=caller.restaurant_id, location_id=caller.location_id, order_id=order_id
        )


class WebhookController(Controller):
    """Provider webhooks: public, authenticated by their signature on the raw body."""

    path = "/api/v1/payments/webhooks"
    tags = ["payments"]

    @post(
        "/stripe",
        status_code=200,
        summary="Stripe events (Stripe-Signature verified by the Stripe SDK)",
        opt=PUBLIC | {"errors": (e.InvalidWebhook, e.UnknownWebhookTarget, e.WebhookNotConfigured)},
    )
    async def stripe(
        self, request: Request[Any, Any, Any], signature: StripeSignature = None
    ) -> s.WebhookAck:
        # The signature is read with the other headers: it is checked against the raw body.
        return await webhooks.receive("stripe", request.headers, await request.body())

    @post(
        "/open-banking",
        status_code=200,
        summary="Pay-by-bank events (Tl-Signature verified with truelayer-signing)",
        opt=PUBLIC | {"errors": (e.InvalidWebhook, e.UnknownWebhookTarget, e.WebhookNotConfigured)},
    )
    async def open_banking(
        self,
        request: Request[Any, Any, Any],
        signature: TlSignature = None,
        signed_at: TlTimestamp = None,
    ) -> s.WebhookAck:
        return await webhooks.receive("open_banking", request.headers, await request.body())
