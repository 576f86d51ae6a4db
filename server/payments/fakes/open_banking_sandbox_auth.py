"""The sandbox's auth server: client-credentials access tokens, and the check every API call gets.

``POST /connect/token`` takes a form with ``grant_type=client_credentials``, ``client_id``,
``client_secret`` and a space-separated ``scope`` that must include ``payments``, and answers
``{"access_token", "expires_in", "token_type": "Bearer", "scope"}``
(docs.truelayer.com/docs/generate-a-payment-access-token). Refusals use OAuth's own error
document, not problem+json (RFC 6749 §5.2). Every ``/v3`` call then needs
``Authorization: Bearer <token>``; a missing, unknown or expired token is 401 with a
``WWW-Authenticate`` challenge (RFC 6750 §3). Tokens expire on the sandbox clock, so a test can
age them with ``/_sandbox/clock/advance``.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from litestar import Request, Response, post

from server.payments.fakes.open_banking_sandbox_bank import SandboxClock, SandboxRefusal

REQUIRED_SCOPE = "payments"
ONE_HOUR = 3600
# RFC 6749 §5.1: a token response must not be cached.
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthRefusal(Exception):
    """A token request refused with an RFC 6749 error code."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


class TokenRefusal(SandboxRefusal):
    """An API call without a usable access token, and the ``WWW-Authenticate`` to send back."""

    def __init__(self, detail: str, *, challenge: str) -> None:
        super().__init__(401, "unauthenticated", "Unauthenticated", detail)
        self.challenge = challenge


@dataclass
class AccessTokens:
    """The one client the sandbox knows, and the tokens it has issued to it."""

    client_id: str
    client_secret: str
    clock: SandboxClock
    lifetime_seconds: int = ONE_HOUR
    issued: int = 0
    _expiries: dict[str, datetime] = field(default_factory=dict)

    def issue(self, form: dict[str, str]) -> dict[str, Any]:
        """A new token for a valid client-credentials request; OAuthRefusal otherwise."""
        if form.get("grant_type") != "client_credentials":
            raise OAuthRefusal(400, "unsupported_grant_type", "only client_credentials is served")
        # Compare both halves in constant time, and both always, so timing tells nothing.
        id_ok = hmac.compare_digest(form.get("client_id", "").encode(), self.client_id.encode())
        secret_ok = hmac.compare_digest(
            form.get("client_secret", "").encode(), self.client_secret.encode()
        )
        if not (id_ok and secret_ok):
            raise OAuthRefusal(401, "invalid_client", "unknown client or wrong secret")
        scopes = form.get("scope", "").split()
        if REQUIRED_SCOPE not in scopes:
            raise OAuthRefusal(400, "invalid_scope", f"the {REQUIRED_SCOPE} scope is required")
        now = self.clock.now()
        self._expiries = {t: at for t, at in self._expiries.items() if at > now}
        token = secrets.token_urlsafe(32)
        self._expiries[token] = now + timedelta(seconds=self.lifetime_seconds)
        self.issued += 1
        return {
            "access_token": token,
            "expires_in": self.lifetime_seconds,
            "token_type": "Bearer",
            "scope": " ".join(scopes),
        }

    def check(self, authorization: str | None) -> None:
        """Refuse (401) unless ``authorization`` is ``Bearer`` and a live token we issued."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            # RFC 6750 §3.1: a request with no credentials gets a challenge without an error.
            raise TokenRefusal("access token missing", challenge='Bearer realm="payments"')
        expires_at = self._expiries.get(token.strip())
        if expires_at is None or expires_at <= self.clock.now():
            raise TokenRefusal(
                "access token invalid or expired",
                challenge='Bearer realm="payments", error="invalid_token"',
            )


@post("/connect/token")
async def issue_token(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    tokens = request.app.state.sandbox.tokens
    if not isinstance(tokens, AccessTokens):
        raise TypeError("app.state.sandbox is not an open banking sandbox")
    form = await request.form()
    fields = {name: str(value) for name, value in form.items()}
    try:
        return Response(content=tokens.issue(fields), status_code=200, headers=_NO_STORE)
    except OAuthRefusal as refusal:
        return Response(
            content={"error": refusal.error, "error_description": refusal.description},
            status_code=refusal.status,
            headers=_NO_STORE,
        )
