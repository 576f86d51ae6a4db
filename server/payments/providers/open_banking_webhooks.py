"""Verify TrueLayer webhooks and reduce them to ProviderEvents.

A webhook carries ``X-TL-Webhook-Timestamp`` and a ``Tl-Signature`` (detached ES512 JWS)
over ``POST``, our webhook path, that timestamp header and the body; its JWS header names in
``jku`` the JWKS holding the public key (docs.truelayer.com/docs/payment-webhooks). We only
ever fetch keys from the one JWKS URL we were configured with: a ``jku`` pointing anywhere
else is refused before any network call, so nobody can sign with a key they publish
themselves. Timestamps more than 300 s from our clock are refused as replays, the window
Stripe and TrueLayer's own libraries use.

Payment webhooks we act on, each with the moment it reports
(docs.truelayer.com/docs/payment-webhooks; the table of types is in
``open_banking_statuses``): ``payment_authorized`` (``authorized_at``), ``payment_executed``
(``executed_at``), ``payment_creditable`` (``creditable_at``), ``payment_settled``
(``settled_at``), ``payment_settlement_stalled`` (``settlement_stalled_at``),
``payment_reversed`` (``reversed_at``) and ``payment_failed`` (``failed_at``, with
``failure_reason`` kept as sent); refunds: ``refund_executed`` and ``refund_failed``. From
``executed`` on the payment stays ``succeeded`` and the event's ``settlement`` says where the
money stands; what a stall or a reversal means for the order is the server's to decide.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID

import httpx
import msgspec

from server.payments.providers.base import (
    ProviderEvent,
    ProviderUnavailable,
    Settlement,
    WebhookRejected,
)
from server.payments.providers.open_banking_signing import (
    SignatureInvalid,
    read_header,
    verify_with_jwk,
)
from server.payments.providers.open_banking_statuses import failed_payment_state
from server.payments.states import PaymentState, RefundState

TIMESTAMP_HEADER = "X-TL-Webhook-Timestamp"
TOLERANCE = timedelta(seconds=300)
# An unknown kid may mean TrueLayer rotated its key, so it is worth one refetch; a stream of
# forged kids must not turn into a stream of fetches.
REFETCH_AFTER_SECONDS = 10.0

_SUCCEEDED = PaymentState.succeeded
_PAYMENT_EVENTS: dict[str, tuple[str, PaymentState | None, Settlement | None]] = {
    "payment_authorized": ("authorized_at", PaymentState.authorizing, None),
    "payment_executed": ("executed_at", _SUCCEEDED, Settlement.executed),
    "payment_creditable": ("creditable_at", _SUCCEEDED, Settlement.creditable),
    "payment_settled": ("settled_at", _SUCCEEDED, Settlement.settled),
    "payment_settlement_stalled": ("settlement_stalled_at", _SUCCEEDED, Settlement.stalled),
    "payment_reversed": ("reversed_at", _SUCCEEDED, Settlement.reversed),
    "payment_failed": ("failed_at", None, None),  # the state depends on failure_reason
}
_REFUND_EVENTS: dict[str, tuple[str, RefundState]] = {
    "refund_executed": ("executed_at", RefundState.succeeded),
    "refund_failed": ("failed_at", RefundState.failed),
}


class _Webhook(msgspec.Struct, frozen=True):
    type: str
    event_id: str
    payment_id: str | None = None
    refund_id: str | None = None
    metadata: dict[str, Any] = {}
    authorized_at: datetime | None = None
    executed_at: datetime | None = None
    settled_at: datetime | None = None
    creditable_at: datetime | None = None
    settlement_stalled_at: datetime | None = None
    reversed_at: datetime | None = None
    failed_at: datetime | None = None
    failure_reason: str | None = None


class JwksCache:
    """TrueLayer's webhook signing keys by ``kid``, fetched from one fixed URL."""

    def __init__(self, *, http: httpx.AsyncClient, url: str) -> None:
        self._http = http
        self._url = url
        self._keys: dict[str, dict[str, str]] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> dict[str, str] | None:
        """The JWK for ``kid``, fetching the set at most once more if it is not known."""
        if kid in self._keys:
            return self._keys[kid]
        async with self._lock:
            recent = (
                self._fetched_at is not None
                and time.monotonic() - self._fetched_at < REFETCH_AFTER_SECONDS
            )
            if kid not in self._keys and not recent:
                await self._fetch()
        return self._keys.get(kid)

    async def _fetch(self) -> None:
        try:
            response = await self._http.get(self._url)
            response.raise_for_status()
            document = msgspec.json.decode(response.content, type=dict[str, list[dict[str, Any]]])
        except (httpx.HTTPError, msgspec.DecodeError) as exc:
            raise ProviderUnavailable(f"could not fetch webhook keys from {self._url}") from exc
        self._fetched_at = time.monotonic()
        self._keys = {
            str(jwk["kid"]): {name: str(value) for name, value in jwk.items()}
            for jwk in document.get("keys", [])
            if "kid" in jwk
        }


class WebhookVerifier:
    """Checks timestamp, ``jku`` and signature, in that order, then reads the event."""

    def __init__(
        self,
        *,
        keys: JwksCache,
        jwks_url: str,
        webhook_path: str,
        clock: Callable[[], datetime],
    ) -> None:
        self._keys = keys
        self._jwks_url = jwks_url
        self._path = webhook_path
        self._clock = clock

    async def verify(self, headers: Mapping[str, str], body: bytes) -> ProviderEvent | None:
        """The event in a signed webhook, None for kinds we do not act on.

        Raises:
            WebhookRejected: bad or stale signature, foreign ``jku``, or a malformed body.
            ProviderUnavailable: the signing keys could not be fetched (worth a retry).
        """
        lowered = {name.lower(): value for name, value in headers.items()}
        signature = lowered.get("tl-signature")
        if not signature:
            raise WebhookRejected("Tl-Signature missing")
        self._check_fresh(lowered.get(TIMESTAMP_HEADER.lower()))
        try:
            header = read_header(signature)
        except SignatureInvalid as exc:
            raise WebhookRejected(str(exc)) from exc
        if header.jku != self._jwks_url:
            raise WebhookRejected(f"jku {header.jku!r} is not our JWKS URL")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WebhookRejected("body is not UTF-8") from exc
        jwk = await self._keys.key(header.kid)
        if jwk is None:
            raise WebhookRejected(f"no webhook key with kid {header.kid!r}")
        try:
            verify_with_jwk(
                jwk=jwk,
                signature=signature,
                path=self._path,
                headers=lowered,
                required_headers=[TIMESTAMP_HEADER],
                body=text,
            )
        except SignatureInvalid as exc:
            raise WebhookRejected(f"signature does not verify: {exc}") from exc
        try:
            webhook = msgspec.json.decode(body, type=_Webhook)
        except msgspec.DecodeError as exc:
            raise WebhookRejected(f"body is not a webhook: {exc}") from exc
        return _to_event(webhook)

    def _check_fresh(self, timestamp: str | None) -> None:
        if not timestamp:
            raise WebhookRejected(f"{TIMESTAMP_HEADER} missing")
        try:
            signed_at = datetime.fromisoformat(timestamp)
        except ValueError as exc:
            raise WebhookRejected(f"{TIMESTAMP_HEADER} is not RFC 3339") from exc
        if signed_at.tzinfo is None:
            raise WebhookRejected(f"{TIMESTAMP_HEADER} has no time zone")
        if abs(self._clock() - signed_at) > TOLERANCE:
            raise WebhookRejected(f"{TIMESTAMP_HEADER} {timestamp} is outside 300 s")


def _to_event(webhook: _Webhook) -> ProviderEvent | None:
    kind: Literal["payment", "refund"]
    state: PaymentState | RefundState
    where: Settlement | None = None
    if webhook.type in _PAYMENT_EVENTS:
        kind, reference = "payment", webhook.payment_id
        moment_field, payment_state, where = _PAYMENT_EVENTS[webhook.type]
        state = payment_state or failed_payment_state(webhook.failure_reason)
    elif webhook.type in _REFUND_EVENTS:
        kind, reference = "refund", webhook.refund_id
        moment_field, state = _REFUND_EVENTS[webhook.type]
    else:
        return None
    occurred_at: datetime | None = getattr(webhook, moment_field)
    if not reference or occurred_at is None:
        raise WebhookRejected(f"{webhook.type} without its id or {moment_field}")
    return ProviderEvent(
        event_id=webhook.event_id,
        kind=kind,
        reference=reference,
        payment_id=_our_id(webhook.metadata, "payment_id"),
        refund_id=_our_id(webhook.metadata, "refund_id") if kind == "refund" else None,
        state=state,
        occurred_at=occurred_at,
        failure_reason=webhook.failure_reason,
        settlement=where,
    )


def _our_id(metadata: Mapping[str, Any], name: str) -> UUID | None:
    """One of our ids from the metadata we sent, if it came back intact."""
    try:
        return UUID(str(metadata[name]))
    except (KeyError, ValueError):
        return None
