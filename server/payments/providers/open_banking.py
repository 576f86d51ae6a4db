"""Pay by bank through TrueLayer's Payments API v3 (UK Open Banking), into merchant accounts.

Every call carries an OAuth client-credentials access token (``open_banking_auth``). Every
POST is also signed (``Tl-Signature`` over method, path, ``Idempotency-Key`` and body) and
carries an idempotency key made only from our own ids, so a retry after a lost answer gets
TrueLayer's first answer back instead of a second payment
(docs.truelayer.com/docs/idempotency-for-payment-requests).

A payment goes to the merchant account for its currency (one per currency,
docs.truelayer.com/docs/merchant-accounts), names its payer in ``user`` (a name and an email
or phone: docs.truelayer.com/docs/end-user-information-payments) and prints our reference on
the payer's statement (``open_banking_references``). The payer approves it on TrueLayer's
hosted page, ``{payment_page_base}/payments?payment_id=…&resource_token=…&return_uri=…``
(docs.truelayer.com/docs/hosted-page). It is ``succeeded`` once executed; where its money
stands after that is ``settlement``, and only a settled payment can be refunded
(docs.truelayer.com/docs/refunds). Webhook verification lives in ``open_banking_webhooks``,
status mapping in ``open_banking_statuses``, the merchant accounts' books in
``open_banking_ledger``. TrueLayer reports no fee on a payment or a transaction, so nothing
here does either.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar
from urllib.parse import quote, urlencode
from uuid import UUID

import httpx
import msgspec

from server.payments.providers.base import (
    LedgerEntry,
    NewPayment,
    Payer,
    ProviderEvent,
    ProviderPayment,
    ProviderRefund,
    ProviderRefused,
    ProviderUnavailable,
)
from server.payments.providers.open_banking_auth import ClientCredentials
from server.payments.providers.open_banking_ledger import read_ledger
from server.payments.providers.open_banking_references import statement_reference
from server.payments.providers.open_banking_signing import sign
from server.payments.providers.open_banking_statuses import (
    NOT_SETTLED_YET,
    UnknownStatus,
    payment_state,
    refund_state,
    settlement,
)
from server.payments.providers.open_banking_webhooks import JwksCache, WebhookVerifier
from server.payments.states import PaymentState

DEFAULT_WEBHOOK_PATH = "/api/v1/payments/webhooks/open-banking"
# Answers that say "not now" rather than "no": the same call may succeed if retried.
_RETRYABLE = frozenset({408, 409, 425, 429})

T = TypeVar("T")

_HOSTS = {
    "sandbox": (
        "https://api.truelayer-sandbox.com",
        "https://auth.truelayer-sandbox.com",
        "https://payment.truelayer-sandbox.com",
    ),
    "live": (
        "https://api.truelayer.com",
        "https://auth.truelayer.com",
        "https://payment.truelayer.com",
    ),
}


def truelayer_hosts(environment: Literal["sandbox", "live"]) -> tuple[str, str, str]:
    """TrueLayer's ``(api_base, auth_base, payment_page_base)`` for an environment, as its own
    client libraries name them (TrueLayer/truelayer-php ``src/Constants/Endpoints.php``)."""
    return _HOSTS[environment]


class _Created(msgspec.Struct, frozen=True):
    id: str
    resource_token: str
    status: str


class _Payment(msgspec.Struct, frozen=True):
    id: str
    status: str
    failure_reason: str | None = None


class _RefundCreated(msgspec.Struct, frozen=True):
    id: str


class _Refund(msgspec.Struct, frozen=True):
    id: str
    status: str
    failure_reason: str | None = None


class _Problem(msgspec.Struct, frozen=True):
    type: str | None = None
    title: str | None = None
    detail: str | None = None


def _utc_now() -> datetime:
    return datetime.now(UTC)


class OpenBankingProvider:
    """The Provider for pay by bank; one HTTP client per provider, closed by :meth:`aclose`."""

    name = "open_banking"

    def __init__(
        self,
        *,
        api_base: str,
        client_id: str,
        client_secret: str,
        signing_kid: str,
        private_key_pem: str,
        merchant_accounts: Mapping[str, str],
        jwks_url: str,
        auth_base: str,
        payment_page_base: str,
        webhook_path: str = DEFAULT_WEBHOOK_PATH,
        timeout_seconds: float | httpx.Timeout = 10.0,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        """
        Args:
            api_base: the Payments API root, e.g. ``https://api.truelayer-sandbox.com``.
            client_id: our client id, for the access token.
            client_secret: its secret; it is sent to ``auth_base`` and nowhere else.
            signing_kid: the id TrueLayer gave our uploaded public key.
            private_key_pem: our EC P-521 private key, which signs every POST.
            merchant_accounts: currency → our merchant account id there (TrueLayer gives one
                per currency); a payment without its own account goes to its currency's.
            jwks_url: the only place webhook signing keys are fetched from.
            auth_base: the auth server root, e.g. ``https://auth.truelayer-sandbox.com``;
                tokens come from its ``/connect/token``.
            payment_page_base: the hosted page's root, e.g.
                ``https://payment.truelayer-sandbox.com`` (see :func:`truelayer_hosts`).
            webhook_path: the path TrueLayer POSTs webhooks to; the signature covers it.
            timeout_seconds: for each HTTP call (or an ``httpx.Timeout`` setting its parts
                apart); a timeout is ProviderUnavailable.
            clock: now, for the webhook timestamp check and the access token's expiry.
        """
        self._api_base = api_base.rstrip("/")
        self._base_path = httpx.URL(self._api_base).path.rstrip("/")
        self._kid = signing_kid
        self._key = private_key_pem
        self._merchant_accounts = {c.upper(): a for c, a in merchant_accounts.items()}
        self._page_base = payment_page_base.rstrip("/")
        self._http = httpx.AsyncClient(base_url=self._api_base + "/", timeout=timeout_seconds)
        self.credentials = ClientCredentials(
            http=self._http,
            token_url=f"{auth_base.rstrip('/')}/connect/token",
            client_id=client_id,
            client_secret=client_secret,
            clock=clock,
        )
        self._webhooks = WebhookVerifier(
            keys=JwksCache(http=self._http, url=jwks_url),
            jwks_url=jwks_url,
            webhook_path=webhook_path,
            clock=clock,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def create(self, payment: NewPayment) -> ProviderPayment:
        """Create the payment and return the hosted page link the payer approves it on.

        Refused here, before any call: no payer details (``payer_details_missing``), no
        merchant account for the currency (``no_merchant_account``), no ``return_uri``
        (``return_uri_missing``: the hosted page needs one).
        """
        user = _user(payment.payer)
        account = payment.merchant_account_id or self._merchant_accounts.get(
            payment.currency.upper()
        )
        if account is None:
            raise ProviderRefused(
                f"no merchant account for {payment.currency}", reason="no_merchant_account"
            )
        if not payment.return_uri:
            raise ProviderRefused("the hosted page needs a return_uri", reason="return_uri_missing")
        beneficiary: dict[str, Any] = {"type": "merchant_account", "merchant_account_id": account}
        printed = statement_reference(payment.reference)
        if printed is not None:
            beneficiary["statement_reference"] = printed
        body = {
            "amount_in_minor": payment.amount,
            "currency": payment.currency,
            "payment_method": {
                "type": "bank_transfer",
                "provider_selection": {"type": "user_selected"},
                "beneficiary": beneficiary,
            },
            "user": user,
            "metadata": {"payment_id": str(payment.payment_id)},
        }
        response = await self._post(
            "/v3/payments", body, idempotency_key=f"fynlo-payment-{payment.payment_id}"
        )
        created = _decode(response, _Created)
        query = urlencode(
            {
                "payment_id": created.id,
                "resource_token": created.resource_token,
                "return_uri": payment.return_uri,
            }
        )
        return ProviderPayment(
            reference=created.id,
            state=PaymentState.awaiting_customer,
            link=f"{self._page_base}/payments?{query}",
        )

    async def status(self, reference: str) -> ProviderPayment:
        response = await self._send("GET", f"/v3/payments/{quote(reference, safe='')}")
        found = _decode(response, _Payment)
        try:
            state = payment_state(found.status, found.failure_reason)
        except UnknownStatus as exc:
            raise ProviderUnavailable(str(exc)) from exc
        return ProviderPayment(
            reference=found.id,
            state=state,
            failure_reason=found.failure_reason,
            settlement=settlement(found.status),
        )

    async def cancel(self, reference: str) -> ProviderPayment:
        """Cancel a payment nobody has authorised yet; ProviderRefused once it has been."""
        await self._post(
            f"/v3/payments/{quote(reference, safe='')}/actions/cancel",
            {},
            idempotency_key=f"fynlo-cancel-{reference}",
        )
        return await self.status(reference)

    async def refund(
        self, reference: str, *, refund_id: UUID, amount: int, currency: str
    ) -> ProviderRefund:
        """Refund part or all of a settled payment, from its merchant account.

        A refund the account's balance cannot cover yet is accepted and stays pending. Before
        the payment has settled TrueLayer refuses; that is ``payment_not_settled`` here, so
        the caller can keep the refund and send it again once the payment settles.
        """
        body = {
            "amount_in_minor": amount,
            # At most 18 characters: it is printed on the customer's bank statement.
            "reference": f"Refund {refund_id.hex[:8]}",
            "metadata": {"refund_id": str(refund_id)},
        }
        path = f"/v3/payments/{quote(reference, safe='')}/refunds"
        try:
            response = await self._post(path, body, idempotency_key=f"fynlo-refund-{refund_id}")
        except ProviderRefused as refused:
            # TrueLayer's refusal does not say "not settled" in a form we could match on, so
            # ask the payment itself why (an extra read, only on this rare path).
            status = await self._payment_status(reference)
            if status in NOT_SETTLED_YET:
                raise ProviderRefused(
                    f"payment {reference} has not settled yet", reason="payment_not_settled"
                ) from refused
            if status != "settled":
                raise
            # Settled now: the refusal may be the first key's answer from before settlement,
            # which TrueLayer replays for 30 days without running the request again
            # (docs.truelayer.com/docs/add-idempotency-to-your-payments-requests). The one
            # key for "after settlement" runs it once, and replays its own answer after that.
            response = await self._post(
                path, body, idempotency_key=f"fynlo-refund-{refund_id}-settled"
            )
        created = _decode(response, _RefundCreated)
        return ProviderRefund(reference=created.id, state=refund_state("pending"))

    async def refund_status(self, reference: str, refund_reference: str) -> ProviderRefund:
        """Where a refund stands, for reconciling when a webhook went missing."""
        path = (
            f"/v3/payments/{quote(reference, safe='')}/refunds/{quote(refund_reference, safe='')}"
        )
        found = _decode(await self._send("GET", path), _Refund)
        try:
            state = refund_state(found.status)
        except UnknownStatus as exc:
            raise ProviderUnavailable(str(exc)) from exc
        return ProviderRefund(reference=found.id, state=state, failure_reason=found.failure_reason)

    async def ledger(self, since: datetime, until: datetime) -> list[LedgerEntry]:
        """Every configured merchant account's settled payments in and executed refunds out."""
        entries: list[LedgerEntry] = []
        for account in dict.fromkeys(self._merchant_accounts.values()):
            path = f"/v3/merchant-accounts/{quote(account, safe='')}/transactions"

            async def fetch(params: Mapping[str, str], path: str = path) -> bytes:
                # Clients made before December 2023 see pages only when they ask for them.
                headers = {"tl-enable-pagination": "true"}
                return (await self._send("GET", path, params=params, headers=headers)).content

            entries.extend(await read_ledger(fetch, since, until))
        return entries

    async def _payment_status(self, reference: str) -> str | None:
        try:
            response = await self._send("GET", f"/v3/payments/{quote(reference, safe='')}")
        except ProviderRefused:
            return None
        return _decode(response, _Payment).status

    async def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> ProviderEvent | None:
        return await self._webhooks.verify(headers, body)

    async def _post(
        self, path: str, payload: Mapping[str, Any], *, idempotency_key: str
    ) -> httpx.Response:
        body = msgspec.json.encode(payload)
        signature = sign(
            kid=self._kid,
            private_key_pem=self._key,
            path=self._base_path + path,
            headers={"Idempotency-Key": idempotency_key},
            body=body.decode(),
        )
        headers = {
            "Idempotency-Key": idempotency_key,
            "Tl-Signature": signature,
            "Content-Type": "application/json",
        }
        return await self._send("POST", path, content=body, headers=headers)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One API call with our access token; a 401 gets one retry with a fresh token.

        The retry is safe for a POST too: a 401 means TrueLayer did nothing, and the retry
        carries the same idempotency key.
        """
        token = await self.credentials.token()
        response = await self._request(method, path, token, content, headers, params)
        if response.status_code == 401:
            self.credentials.discard(token)
            token = await self.credentials.token()
            response = await self._request(method, path, token, content, headers, params)
        status = response.status_code
        if status >= 500 or status in _RETRYABLE:
            raise ProviderUnavailable(f"{method} {path}: HTTP {status}")
        if status >= 400:
            problem = _problem(response)
            raise ProviderRefused(
                problem.detail or problem.title or f"HTTP {status}",
                reason=_reason(problem, status),
            )
        return response

    async def _request(
        self,
        method: str,
        path: str,
        token: str,
        content: bytes | None,
        headers: Mapping[str, str] | None,
        params: Mapping[str, str] | None,
    ) -> httpx.Response:
        try:
            return await self._http.request(
                method,
                path.lstrip("/"),
                content=content,
                headers={**(headers or {}), "Authorization": f"Bearer {token}"},
                params=params,
            )
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"{method} {path}: {type(exc).__name__}") from exc


def _user(payer: Payer | None) -> dict[str, str]:
    """TrueLayer's ``user``: a name and an email or a phone, or a refusal before any call."""
    if payer is None or not payer.name.strip() or not (payer.email or payer.phone):
        raise ProviderRefused(
            "pay by bank needs the payer's name and an email or phone",
            reason="payer_details_missing",
        )
    user = {"name": payer.name.strip()}
    if payer.email:
        user["email"] = payer.email
    if payer.phone:
        user["phone"] = payer.phone
    return user


def _decode(response: httpx.Response, kind: type[T]) -> T:
    try:
        return msgspec.json.decode(response.content, type=kind)
    except msgspec.DecodeError as exc:
        # A 2xx we cannot read leaves the outcome unknown, like a lost answer.
        raise ProviderUnavailable(f"unreadable answer: {exc}") from exc


def _problem(response: httpx.Response) -> _Problem:
    try:
        return msgspec.json.decode(response.content, type=_Problem)
    except msgspec.DecodeError:
        return _Problem()


def _reason(problem: _Problem, status: int) -> str:
    """TrueLayer's error type, e.g. ``refund-amount-exceeded`` from ``…/error-types#…``."""
    if problem.type and "#" in problem.type:
        return problem.type.rsplit("#", 1)[1]
    return problem.title or f"http_{status}"
