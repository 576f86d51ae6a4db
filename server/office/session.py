"""The back office's browser session: the API's token pair, kept in an HttpOnly cookie.

Signing in through the page calls the same ``services.login`` as ``POST /api/v1/auth/login``
and keeps the pair it answers in one cookie (HttpOnly, SameSite=Strict, Secure outside
development and test). ``OfficeSession`` runs before the guards: it hands the access token to
``authenticate`` as a bearer token, so every page is checked by the API's own guards and
``POLICY``; when the access token has run out it rotates the refresh token
(``sessions.rotate``, reuse detection and all) and sends the new pair back in the cookie.

CSRF: a random token in a second HttpOnly cookie, repeated in every form (double submit);
``require_csrf`` compares the two. SameSite=Strict already keeps other sites' forms from
carrying the session; the token covers browsers and proxies that ignore it.
"""

from __future__ import annotations

import hmac
import secrets
from http.cookies import SimpleCookie
from typing import Any

from litestar import Request
from litestar.datastructures import Cookie
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from server.auth import sessions
from server.auth.schemas import TokenPair
from server.auth.tokens import TokenKind, verify
from server.errors import Forbidden, NotAuthenticated
from server.settings import get_settings

PREFIX = "/office"
SESSION_COOKIE = "fynlo_office"
CSRF_COOKIE = "fynlo_office_csrf"
CSRF_FIELD = "csrf"
_SEPARATOR = "|"  # never in a JWT (base64url and dots), allowed in a cookie value
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self';"
    " connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none';"
    " object-src 'none'"
)
"""No inline script or style, nothing from another host (the page must work on a LAN)."""
PAGE_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
)


def _secure() -> bool:
    return get_settings().environment not in ("development", "test")


def _cookie(key: str, value: str | None, *, max_age: int | None = None) -> Cookie:
    return Cookie(
        key=key,
        value=value,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=_secure(),
        max_age=0 if value is None else max_age,
    )


def session_cookie(pair: TokenPair) -> Cookie:
    """The cookie holding ``pair``; it lives as long as the refresh token."""
    return _cookie(
        SESSION_COOKIE,
        f"{pair.access_token}{_SEPARATOR}{pair.refresh_token}",
        max_age=get_settings().refresh_token_ttl_seconds,
    )


def ended_session() -> list[Cookie]:
    """Cookies that delete the session and its CSRF token."""
    return [_cookie(SESSION_COOKIE, None), _cookie(CSRF_COOKIE, None)]


def new_csrf_cookie() -> Cookie:
    return _cookie(CSRF_COOKIE, secrets.token_urlsafe(32))


def refresh_token(request: Request[Any, Any, Any]) -> str | None:
    value = request.cookies.get(SESSION_COOKIE, "")
    _, _, refresh = value.partition(_SEPARATOR)
    return refresh or None


def access_token(request: Request[Any, Any, Any]) -> str | None:
    """The access token the middleware put in front of the guards (fresh if it rotated)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def require_csrf(request: Request[Any, Any, Any]) -> None:
    """Refuse a form whose CSRF token is not the one in the browser's cookie."""
    expected = request.cookies.get(CSRF_COOKIE, "")
    sent = (await request.form()).get(CSRF_FIELD, "")
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(expected, sent):
        raise Forbidden("the form's security token is missing or stale; reload the page")


class OfficeSession:
    """ASGI middleware for the ``/office`` router: the cookie's pair becomes a bearer token."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        set_cookies: list[Cookie] = []
        headers: list[tuple[bytes, bytes]] = list(scope["headers"])
        held = _session_value(headers)
        if held is not None and not any(name == b"authorization" for name, _ in headers):
            access, _, refresh = held.partition(_SEPARATOR)
            navigation = _navigation(headers)
            if not navigation:
                # Only a page load rotates: the page's background fetches run several at once,
                # and each rotating the same refresh token would look like its theft to the
                # API's reuse detection and end the session. An expired one answers 401, and
                # the script reloads the page, which rotates once.
                refresh = ""
            try:
                access = await _current_access(scope, access, refresh, set_cookies)
            except NotAuthenticated:
                access = ""
                if navigation:  # over (or tampered with); a fetch leaves it to the reload
                    set_cookies = [_cookie(SESSION_COOKIE, None)]
            if access:
                headers.append((b"authorization", f"Bearer {access}".encode()))
                scope["headers"] = headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                static = scope["path"].startswith(f"{PREFIX}/static/")
                message["headers"] = [
                    *message.get("headers", []),
                    *(PAGE_HEADERS[:3] if static else PAGE_HEADERS),
                    *(cookie.to_encoded_header() for cookie in set_cookies),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def is_navigation(sec_fetch_mode: str | None) -> bool:
    """A page load or a form's submission; a browser's ``fetch`` says ``cors``/``same-origin``.
    Without the header (an old browser, a script of someone's own) it counts as a page load."""
    return sec_fetch_mode is None or sec_fetch_mode == "navigate"


def _navigation(headers: list[tuple[bytes, bytes]]) -> bool:
    mode = next((value for name, value in headers if name == b"sec-fetch-mode"), None)
    return is_navigation(None if mode is None else mode.decode("latin-1"))


def _session_value(headers: list[tuple[bytes, bytes]]) -> str | None:
    cookies: SimpleCookie = SimpleCookie()
    for name, value in headers:
        if name == b"cookie":
            cookies.load(value.decode("latin-1"))
    held = cookies.get(SESSION_COOKIE)
    return None if held is None else held.value


async def _current_access(scope: Scope, access: str, refresh: str, out: list[Cookie]) -> str:
    """``access`` while it is valid; else a rotated pair's (its cookie appended to ``out``)."""
    state = scope["app"].state
    settings = get_settings()
    try:
        verify(state.signing_keys, access, TokenKind.access, issuer=settings.jwt_issuer)
    except NotAuthenticated:
        if not refresh:
            raise
        pair = await sessions.rotate(state.signing_keys, settings, refresh, limiter=state.limiter)
        out.append(session_cookie(pair))
        return pair.access_token
    return access
