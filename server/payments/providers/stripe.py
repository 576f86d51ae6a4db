"""Card and Apple Pay payments through Stripe's PaymentIntents, using the official SDK.

Every call that creates or moves something carries an idempotency key built only from our
own ids (``fynlo-payment-{payment_id}``), and the SDK never retries on its own: our retries
happen above, with the same key, so a response lost on the way back can never become a
second charge (https://docs.stripe.com/api/idempotent_requests). A decline is an outcome
(``failed``), not an error; an unreachable Stripe is ``ProviderUnavailable``; anything Stripe
understood and refused is ``ProviderRefused``.

Written for the API version the SDK pins (``stripe._api_version``), whose defaults differ
from a pre-2023 Stripe:

- Automatic payment methods are on unless types are given, and confirming one then needs a
  ``return_url``. A till takes cards only, so every PaymentIntent names
  ``allowed_payment_method_types=["card"]``: no redirect-based method can be offered, no
  ``return_url`` is needed, and a 3-D Secure card stops at ``requires_action`` for the
  iPad's Stripe SDK (``use_stripe_sdk``) instead of a browser redirect.
- Capture is ``automatic_async``: a paid charge's ``balance_transaction`` (Stripe's fee) is
  null in the confirm answer and in the success webhooks and comes later with
  ``charge.updated``. The fee is read when it is there, never assumed: ``charge.updated``
  makes the webhook fetch it, and the sweep fetches it for any payment still without one.
- Idempotency keys may be pruned once 24 hours old, so a refund is looked up by our
  ``refund_id`` metadata before it is (re)sent: a resend days later cannot refund twice.

Cards in person go through Stripe Terminal (docs.stripe.com/terminal/payments/collect-card-payment):
a ``card_present`` PaymentIntent with manual capture, collected by the iPad's Terminal SDK
(Tap to Pay) or by a reader we drive (``process_on_reader``), then captured by us
(``capture``). Offline payments are made by the iPad's SDK when it forwards them, carrying
our ``payment_id`` in their metadata; ``find_forwarded`` looks them up by it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

import httpx
import msgspec
import stripe

from server.payments.providers.base import (
    LedgerEntry,
    NewPayment,
    ProviderEvent,
    ProviderPayment,
    ProviderRefund,
    ProviderRefused,
    ProviderUnavailable,
    WebhookRejected,
)
from server.payments.states import PaymentState, RefundState

if TYPE_CHECKING:
    from stripe.params import (
        PaymentIntentCreateParams,
        PaymentIntentListParams,
        RefundListParams,
    )
    from stripe.params.terminal import LocationCreateParams

WEBHOOK_TOLERANCE_SECONDS = 300
"""Stripe's default: an older signature is treated as a replay (docs.stripe.com/webhooks)."""
_FEE = "latest_charge.balance_transaction"
"""Expanded on every read, so a succeeded payment comes back with Stripe's own fee."""
_UNEXPECTED_STATE = "payment_intent_unexpected_state"
_MAX_LEDGER_PAGES = 1_000  # 100,000 movements: a very busy day for one account
_FIND_WINDOW = timedelta(minutes=10)
"""How far from our row's creation Stripe's ``created`` may be (the call, plus clock skew)."""
_MAX_FIND_PAGES = 50  # 5,000 PaymentIntents in 20 minutes: far beyond one restaurant
_MAX_REFUND_PAGES = 20  # 2,000 refunds of one payment: far beyond any till
_CARD_ONLY = ["card"]
"""What a till takes; exclusive with ``automatic_payment_methods`` (see the module's notes)."""
_IN_PERSON = ["card_present"]
"""Stripe Terminal's method type: Tap to Pay on iPad and Stripe's readers."""
_MAX_FORWARDED = 10
"""PaymentIntents one offline payment may have become: the SDK forwards each payment once,
but a buggy forward can make a few (stripe-terminal-android#747); more is not ours to read."""
_T = TypeVar("_T")


class StripeProvider:
    """The ``stripe`` provider. ``api_base`` None talks to api.stripe.com."""

    name = "stripe"
    fees_in_status = True
    """A succeeded payment's status carries Stripe's fee (its balance transaction)."""

    def __init__(
        self,
        *,
        api_key: str,
        webhook_secret: str,
        api_base: str | None = None,
        timeout_seconds: float | httpx.Timeout = 10.0,
    ) -> None:
        self._webhook_secret = webhook_secret
        self._http = ContentHTTPXClient(timeout=timeout_seconds)
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            http_client=self._http,
            max_network_retries=0,
        )

    async def aclose(self) -> None:
        """Close the HTTP connection pool (call once, on shutdown)."""
        await self._http.close_async()  # type: ignore[no-untyped-call]

    async def create(self, payment: NewPayment) -> ProviderPayment:
        """A PaymentIntent for ``payment``; with an Apple Pay token it is charged at once.

        Without a token it waits, ``awaiting_customer``, for the iPad to confirm a card with
        the ``client_secret``. Stripe has no expiry of its own: ``expires_at`` is enforced by
        our sweep, which cancels.

        An Apple Pay token first becomes a card PaymentMethod (``POST /v1/payment_methods``
        with ``card[token]``, the form the SDK types: the current API has no
        ``payment_method_data[card]``), under its own key, so a retry finds the same
        ``pm_…`` instead of spending the single-use token twice.
        """
        params: PaymentIntentCreateParams = {
            "amount": payment.amount,
            "currency": payment.currency.lower(),
            "metadata": {"payment_id": str(payment.payment_id)},
            "description": payment.reference,
            "allowed_payment_method_types": list(_CARD_ONLY),
            "expand": [_FEE],
        }
        if payment.in_person:
            # Manual capture: the server captures only what it has checked (the order is
            # still payable, the offline limits hold), and captures the tip with the bill.
            params["allowed_payment_method_types"] = list(_IN_PERSON)
            params["capture_method"] = "manual"
        if payment.wallet_token is not None:
            method = await _call(
                self._client.v1.payment_methods.create_async(
                    {"type": "card", "card": {"token": payment.wallet_token}},
                    {"idempotency_key": f"fynlo-wallet-{payment.payment_id}"},
                )
            )
            params["payment_method"] = method.id
            params["confirm"] = True
        key = f"fynlo-payment-{payment.payment_id}"
        return await self._charge(
            self._client.v1.payment_intents.create_async(params, {"idempotency_key": key}),
            reference=None,
        )

    async def confirm(self, reference: str, payment_method: str) -> ProviderPayment:
        """Charge ``payment_method`` (a ``pm_…`` from the iPad's card reader or form)."""
        key = f"fynlo-confirm-{reference}-{payment_method}"
        return await self._charge(
            self._client.v1.payment_intents.confirm_async(
                reference,
                {"payment_method": payment_method, "expand": [_FEE]},
                {"idempotency_key": key},
            ),
            reference=reference,
        )

    async def capture(self, reference: str) -> ProviderPayment:
        """Capture all that was authorised: the bill and any tip added on the reader."""
        try:
            intent = await self._client.v1.payment_intents.capture_async(
                reference, {"expand": [_FEE]}, {"idempotency_key": f"fynlo-capture-{reference}"}
            )
        except stripe.InvalidRequestError as error:
            if error.code != _UNEXPECTED_STATE:
                raise _unavailable_or_refused(error) from error
            return await self.status(reference)  # captured already, or ended meanwhile
        except stripe.StripeError as error:
            raise _unavailable_or_refused(error) from error
        return _payment(_decode(intent, _Intent))

    async def process_on_reader(
        self, reader: str, reference: str, *, tipping: bool, attempt: str
    ) -> None:
        """Ask a reader to collect the card for a PaymentIntent (the reader shows the amount,
        and a tip screen if ``tipping``). ``attempt`` names this request (the till's
        Idempotency-Key): a retry of it is not a second request to the reader."""
        await _call(
            self._client.v1.terminal.readers.process_payment_intent_async(
                reader,
                {"payment_intent": reference, "process_config": {"skip_tipping": not tipping}},
                {"idempotency_key": f"fynlo-collect-{reference}-{attempt}"},
            )
        )

    async def connection_token(self, location: str) -> str:
        """A secret for the iPad's Terminal SDK, good for readers at ``location`` only."""
        token = await _call(
            self._client.v1.terminal.connection_tokens.create_async({"location": location})
        )
        return str(token.secret)

    async def create_location(self, our_id: UUID, params: LocationCreateParams) -> str:
        made = await _call(
            self._client.v1.terminal.locations.create_async(
                params, {"idempotency_key": f"fynlo-terminal-location-{our_id}"}
            )
        )
        return str(made.id)

    async def register_reader(
        self, *, location: str, registration_code: str, label: str
    ) -> tuple[str, str]:
        """Register a reader at a Terminal location: its id and device type."""
        reader = await _call(
            self._client.v1.terminal.readers.create_async(
                {"location": location, "registration_code": registration_code, "label": label},
                {"idempotency_key": f"fynlo-reader-{location}-{registration_code}"},
            )
        )
        return str(reader.id), str(reader.device_type)

    async def find_forwarded(self, payment_id: UUID) -> list[ProviderPayment]:
        """PaymentIntents an iPad's Terminal SDK forwarded for our offline ``payment_id``,
        oldest first (Stripe's search index may lag by up to a minute: ask again later)."""
        page = await _call(
            self._client.v1.payment_intents.search_async(
                {
                    "query": f"metadata['payment_id']:'{payment_id}'",
                    "limit": _MAX_FORWARDED,
                    "expand": [f"data.{_FEE}"],
                }
            )
        )
        found = sorted(page.data, key=lambda intent: (intent.created, intent.id))
        return [_payment(_decode(intent, _Intent)) for intent in found]

    async def status(self, reference: str) -> ProviderPayment:
        intent = await _call(
            self._client.v1.payment_intents.retrieve_async(reference, {"expand": [_FEE]})
        )
        return _payment(_decode(intent, _Intent))

    async def find(self, payment_id: UUID, created_at: datetime) -> ProviderPayment | None:
        """The PaymentIntent whose metadata carries ``payment_id``, or None if there is none.

        Lists PaymentIntents created within ten minutes of ``created_at``
        (https://docs.stripe.com/api/payment_intents/list): lists are read from Stripe's
        books as they are, unlike search, whose index lags by up to a minute.
        """
        params: PaymentIntentListParams = {
            "created": {
                "gte": int((created_at - _FIND_WINDOW).timestamp()),
                "lte": int((created_at + _FIND_WINDOW).timestamp()),
            },
            "limit": 100,
        }
        wanted = str(payment_id)
        for _ in range(_MAX_FIND_PAGES):
            page = await _call(self._client.v1.payment_intents.list_async(params))
            for intent in page.data:
                found = _decode(intent, _Intent)
                if found.metadata.get("payment_id") == wanted:
                    return _payment(found)
            if not page.has_more or not page.data:
                return None
            params["starting_after"] = page.data[-1].id
        raise ProviderUnavailable("too many Stripe PaymentIntents to look through")

    async def cancel(self, reference: str) -> ProviderPayment:
        """Cancel, or, if it has already ended (say, just paid), report how it ended."""
        try:
            intent = await self._client.v1.payment_intents.cancel_async(
                reference, {"expand": [_FEE]}, {"idempotency_key": f"fynlo-cancel-{reference}"}
            )
        except stripe.InvalidRequestError as error:
            if error.code != _UNEXPECTED_STATE:
                raise _unavailable_or_refused(error) from error
            return await self.status(reference)
        except stripe.StripeError as error:
            raise _unavailable_or_refused(error) from error
        return _payment(_decode(intent, _Intent))

    async def refund(
        self, reference: str, *, refund_id: UUID, amount: int, currency: str
    ) -> ProviderRefund:
        """Refund ``amount`` of the PaymentIntent ``reference``, once however often asked.

        Stripe refunds in the payment's own currency and takes none; ``currency`` is part of
        the provider interface for providers that do. The refunds already made on the
        PaymentIntent are read first: one carrying our ``refund_id`` is this refund, whose
        answer was lost. The idempotency key alone would not do, since Stripe may prune it
        after 24 hours and then a resend would refund again.
        """
        made = await self._made_refund(reference, refund_id)
        if made is not None:
            return _refund(made)
        refund = await _call(
            self._client.v1.refunds.create_async(
                {
                    "payment_intent": reference,
                    "amount": amount,
                    "metadata": {"refund_id": str(refund_id)},
                },
                {"idempotency_key": f"fynlo-refund-{refund_id}"},
            )
        )
        return _refund(_decode(refund, _Refund))

    async def _made_refund(self, reference: str, refund_id: UUID) -> _Refund | None:
        params: RefundListParams = {"payment_intent": reference, "limit": 100}
        wanted = str(refund_id)
        for _ in range(_MAX_REFUND_PAGES):
            page = await _call(self._client.v1.refunds.list_async(params))
            for item in page.data:
                found = _decode(item, _Refund)
                if found.metadata.get("refund_id") == wanted:
                    return found
            if not page.has_more or not page.data:
                return None
            params["starting_after"] = page.data[-1].id
        raise ProviderUnavailable("too many Stripe refunds to look through")

    async def refund_status(self, reference: str) -> ProviderRefund:
        return _refund(
            _decode(await _call(self._client.v1.refunds.retrieve_async(reference)), _Refund)
        )

    async def ledger(self, since: datetime, until: datetime) -> list[LedgerEntry]:
        """Stripe's own books for a window: balance transactions with their charge or refund."""
        params: dict[str, Any] = {
            "created": {"gte": int(since.timestamp()), "lt": int(until.timestamp())},
            "limit": 100,
            "expand": ["data.source"],
        }
        entries: list[LedgerEntry] = []
        for _ in range(_MAX_LEDGER_PAGES):
            page = await _call(self._client.v1.balance_transactions.list_async(params))  # type: ignore[arg-type]
            for txn in page.data:
                entry = _ledger_entry(txn.to_dict())
                if entry is not None:
                    entries.append(entry)
            if not page.has_more or not page.data:
                return entries
            params["starting_after"] = page.data[-1].id
        raise ProviderUnavailable("more Stripe balance transactions than one reconciliation reads")

    async def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> ProviderEvent | None:
        """The event in a webhook signed with our endpoint secret, checked on the raw body."""
        signature = next(
            (value for name, value in headers.items() if name.lower() == "stripe-signature"), None
        )
        try:
            stripe.WebhookSignature.verify_header(
                body, signature, self._webhook_secret, WEBHOOK_TOLERANCE_SECONDS
            )
            return _event(msgspec.json.decode(body, type=_Event))
        except (
            stripe.SignatureVerificationError,
            UnicodeDecodeError,
            msgspec.DecodeError,
        ) as error:
            raise WebhookRejected(str(error)) from error

    async def _charge(
        self, request: Awaitable[stripe.PaymentIntent], *, reference: str | None
    ) -> ProviderPayment:
        """Await a create-or-confirm, where a card error is the payment's outcome."""
        try:
            intent = await request
        except stripe.CardError as error:
            return _declined(error)
        except stripe.InvalidRequestError as error:
            if reference is None or error.code != _UNEXPECTED_STATE:
                raise _unavailable_or_refused(error) from error
            return await self.status(reference)
        except stripe.StripeError as error:
            raise _unavailable_or_refused(error) from error
        return _payment(_decode(intent, _Intent))


class ContentHTTPXClient(stripe.HTTPXClient):
    """The SDK's httpx client, sending the form body as ``content=``, not ``data=``.

    stripe 16.1 passes the encoded body as ``data=<str>``, which httpx deprecates with a
    DeprecationWarning on every POST (https://www.python-httpx.org/compatibility/).
    """

    def _get_request_args_kwargs(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any
    ) -> Any:
        args, kwargs = super()._get_request_args_kwargs(method, url, headers, post_data)
        kwargs["content"] = kwargs.pop("data", None) or None
        return args, kwargs


class _BalanceTransaction(msgspec.Struct):
    fee: int


class _Charge(msgspec.Struct):
    balance_transaction: str | _BalanceTransaction | None = None


class _ChargeEvent(msgspec.Struct):
    """A charge as ``charge.updated`` carries it (ids, not expanded objects)."""

    id: str
    status: str
    captured: bool = False
    payment_intent: str | None = None
    balance_transaction: str | None = None
    metadata: dict[str, str] = {}


class _Tip(msgspec.Struct):
    amount: int | None = None


class _AmountDetails(msgspec.Struct):
    tip: _Tip | None = None


class _PaymentError(msgspec.Struct):
    code: str | None = None
    decline_code: str | None = None


class _Intent(msgspec.Struct):
    """The parts of a PaymentIntent we act on, from the SDK or a webhook alike."""

    id: str
    status: str
    client_secret: str | None = None
    metadata: dict[str, str] = {}
    last_payment_error: _PaymentError | None = None
    latest_charge: str | _Charge | None = None
    amount_details: _AmountDetails | None = None


class _Refund(msgspec.Struct):
    id: str
    status: str
    failure_reason: str | None = None
    metadata: dict[str, str] = {}


class _EventData(msgspec.Struct):
    object: msgspec.Raw


class _Event(msgspec.Struct):
    id: str
    type: str
    created: int
    data: _EventData


_AWAITING = frozenset({"requires_payment_method", "requires_confirmation", "requires_action"})
_AUTHORIZING = frozenset({"processing", "requires_capture"})
_REFUND_STATES = {
    "pending": RefundState.pending,
    "requires_action": RefundState.pending,
    "succeeded": RefundState.succeeded,
    "failed": RefundState.failed,
    "canceled": RefundState.failed,
}


def _payment(intent: _Intent) -> ProviderPayment:
    """Our state for a PaymentIntent (docs.stripe.com/payments/paymentintents/lifecycle)."""
    error = intent.last_payment_error
    failure_reason = None
    if intent.status == "requires_payment_method" and error is not None:
        # Stripe lets the customer try another card; at the till the attempt has failed.
        state = PaymentState.failed
        failure_reason = error.decline_code or error.code or "declined"
    elif intent.status in _AWAITING:
        state = PaymentState.awaiting_customer
    elif intent.status == "succeeded":
        state = PaymentState.succeeded
    elif intent.status == "canceled":
        state = PaymentState.canceled
    else:
        # processing, requires_capture, or a status newer than this code: not ended yet,
        # and the state machine only moves forward, so a later event settles it.
        state = PaymentState.authorizing
    charge = intent.latest_charge
    fees = charge.balance_transaction if isinstance(charge, _Charge) else None
    details = intent.amount_details
    return ProviderPayment(
        reference=intent.id,
        state=state,
        client_secret=intent.client_secret,
        failure_reason=failure_reason,
        provider_fee=fees.fee if isinstance(fees, _BalanceTransaction) else None,
        capturable=intent.status == "requires_capture",
        tip=details.tip.amount if details is not None and details.tip is not None else None,
    )


def _declined(error: stripe.CardError) -> ProviderPayment:
    details = error.error
    reason = (details.decline_code if details else None) or error.code or "card_declined"
    intent = details.payment_intent if details else None
    if intent is None:
        raise ProviderRefused(str(error.user_message), reason=reason) from error
    return ProviderPayment(
        reference=intent.id,
        state=PaymentState.failed,
        client_secret=intent.client_secret,
        failure_reason=reason,
    )


def _refund(refund: _Refund) -> ProviderRefund:
    state = _REFUND_STATES.get(refund.status, RefundState.pending)
    reason = refund.failure_reason or (refund.status if state is RefundState.failed else None)
    return ProviderRefund(reference=refund.id, state=state, failure_reason=reason)


def _event(event: _Event) -> ProviderEvent | None:
    occurred_at = datetime.fromtimestamp(event.created, tz=UTC)
    if event.type.startswith("payment_intent."):
        intent = msgspec.json.decode(event.data.object, type=_Intent)
        payment = _payment(intent)
        return ProviderEvent(
            event_id=event.id,
            kind="payment",
            reference=intent.id,
            payment_id=_our_id(intent.metadata, "payment_id"),
            state=payment.state,
            occurred_at=occurred_at,
            failure_reason=payment.failure_reason,
            provider_fee=payment.provider_fee,
            capturable=payment.capturable,
        )
    if event.type == "charge.updated":
        # Asynchronous capture: the charge's balance transaction (the fee) arrives now.
        charge = msgspec.json.decode(event.data.object, type=_ChargeEvent)
        if (
            charge.status != "succeeded"
            or not charge.captured
            or charge.payment_intent is None
            or charge.balance_transaction is None
        ):
            return None
        return ProviderEvent(
            event_id=event.id,
            kind="payment",
            reference=charge.payment_intent,
            payment_id=_our_id(charge.metadata, "payment_id"),
            state=PaymentState.succeeded,
            occurred_at=occurred_at,
        )
    if event.type.startswith("refund."):
        stripe_refund = msgspec.json.decode(event.data.object, type=_Refund)
        refund = _refund(stripe_refund)
        return ProviderEvent(
            event_id=event.id,
            kind="refund",
            reference=refund.reference,
            payment_id=None,
            # Our refund metadata holds our refund id only (see ``refund``): it finds the row
            # before the create's answer has given it Stripe's reference.
            refund_id=_our_id(stripe_refund.metadata, "refund_id"),
            state=refund.state,
            occurred_at=occurred_at,
            failure_reason=refund.failure_reason,
        )
    return None


def _our_id(metadata: Mapping[str, str], key: str) -> UUID | None:
    try:
        return UUID(metadata[key])
    except (KeyError, ValueError):
        return None


def _decode(found: stripe.StripeObject, into: type[_T]) -> _T:
    return msgspec.convert(found.to_dict(), into)


async def _call(request: Awaitable[_T]) -> _T:
    try:
        return await request
    except stripe.StripeError as error:
        raise _unavailable_or_refused(error) from error


def _unavailable_or_refused(error: stripe.StripeError) -> ProviderUnavailable | ProviderRefused:
    """Unknown outcome (retry with the same key) versus a definite no.

    No answer, a 5xx, a rate limit or 409 ``idempotency_key_in_use`` (our own earlier try is
    still running) all mean "ask again later".
    """
    status = error.http_status
    if (
        isinstance(error, stripe.APIConnectionError | stripe.RateLimitError)
        or status is None
        or status >= 500
        or status == 409
    ):
        return ProviderUnavailable(f"Stripe did not answer usefully: {error.user_message}")
    details = error.error
    reason = (
        (details.decline_code if details else None)
        or error.code
        or (details.type if details else None)
        or "refused"
    )
    return ProviderRefused(str(error.user_message), reason=reason)


def _ledger_entry(txn: dict[str, Any]) -> LedgerEntry | None:
    """A charge or refund movement in our terms; payouts and other movements are not ours."""
    source = txn.get("source")
    if not isinstance(source, dict) or txn["type"] not in ("charge", "payment", "refund"):
        return None
    refund = txn["type"] == "refund"
    metadata = source.get("metadata") or {}
    return LedgerEntry(
        kind="refund" if refund else "payment",
        reference=source["id"] if refund else source["payment_intent"],
        payment_id=_our_id(metadata, "payment_id"),
        amount=abs(txn["amount"]),
        currency=txn["currency"].upper(),
        fee=None if refund else txn["fee"],
        at=datetime.fromtimestamp(txn["created"], UTC),
    )
