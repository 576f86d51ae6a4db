"""TrueLayer's OAuth client-credentials access token, fetched when first needed and reused.

``POST {auth_base}/connect/token`` with ``grant_type=client_credentials``, our ``client_id``
and ``client_secret`` and ``scope=payments`` gives a Bearer token for an hour
(docs.truelayer.com/docs/generate-a-payment-access-token). We keep it until shortly before it
expires, and drop it when the API answers 401 so the next call fetches a fresh one. The
client secret goes only into that form body: never into a log, an exception or a repr.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
import msgspec

from server.payments.providers.base import ProviderRefused, ProviderUnavailable

SCOPE = "payments"
# Renew this long before the stated expiry, so a token never dies on its way to the API.
RENEW_EARLY_SECONDS = 60
# Answers that say "not now" rather than "no": the same call may succeed if retried.
_RETRYABLE = frozenset({408, 409, 425, 429})


class _Token(msgspec.Struct, frozen=True):
    access_token: str
    expires_in: int
    token_type: str


class _OAuthError(msgspec.Struct, frozen=True):
    error: str | None = None


class ClientCredentials:
    """One cached access token for one client; concurrent callers share a single fetch."""

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        token_url: str,
        client_id: str,
        client_secret: str,
        clock: Callable[[], datetime],
    ) -> None:
        self._http = http
        self._url = token_url
        self._client_id = client_id
        self._secret = client_secret
        self._clock = clock
        self._cached: tuple[str, datetime] | None = None  # the token and when to renew it
        self._lock = asyncio.Lock()
        self.fetched = 0  # tokens fetched so far, for tests and metrics

    def __repr__(self) -> str:
        return f"ClientCredentials(client_id={self._client_id!r}, token_url={self._url!r})"

    async def token(self) -> str:
        """A token believed to be live: the cached one, or a newly fetched one."""
        async with self._lock:
            if self._cached is None or self._clock() >= self._cached[1]:
                self._cached = await self._fetch()
            return self._cached[0]

    def discard(self, token: str) -> None:
        """The API refused ``token``: forget it, unless another caller already replaced it."""
        if self._cached is not None and self._cached[0] == token:
            self._cached = None

    async def _fetch(self) -> tuple[str, datetime]:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._secret,
            "scope": SCOPE,
        }
        asked_at = self._clock()
        try:
            response = await self._http.post(self._url, data=form)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"access token: {type(exc).__name__}") from exc
        status = response.status_code
        if status >= 500 or status in _RETRYABLE:
            raise ProviderUnavailable(f"access token: HTTP {status}")
        if status >= 400:
            # Only the error code: a description is free text we do not control.
            error = _error_code(response.content) or f"http_{status}"
            raise ProviderRefused(f"the auth server refused our client: {error}", reason=error)
        try:
            token = msgspec.json.decode(response.content, type=_Token)
        except msgspec.DecodeError as exc:
            raise ProviderUnavailable(f"access token: unreadable answer: {exc}") from exc
        if token.token_type.lower() != "bearer" or token.expires_in <= 0:
            raise ProviderUnavailable(f"access token: unusable {token.token_type} token")
        self.fetched += 1
        usable = max(token.expires_in - RENEW_EARLY_SECONDS, token.expires_in // 2)
        return token.access_token, asked_at + timedelta(seconds=usable)


def _error_code(content: bytes) -> str | None:
    try:
        return msgspec.json.decode(content, type=_OAuthError).error
    except msgspec.DecodeError:
        return None
