"""Back-office sign-in."""

from __future__ import annotations

from uuid import UUID

from server.auth import ratelimit, throttle
from server.auth.keys import SigningKeys
from server.auth.passwords import verify_password
from server.auth.permissions import BACK_OFFICE_ROLES
from server.auth.schemas import LoginRequest, TokenPair
from server.auth.sessions import user_pair
from server.auth.tables import Role, User
from server.auth.tokens import Caller
from server.errors import NotAuthenticated
from server.settings import Settings


async def login(
    *,
    body: LoginRequest,
    keys: SigningKeys,
    settings: Settings,
    limiter: ratelimit.RateLimiter,
    source: str,
) -> TokenPair:
    """Exchange email and password for a token pair; every failure answers alike.

    ``source`` is the client address. The attempt is held back per (address, account) first,
    then, from an address that has not signed this account in lately, counted against the
    account's ceiling (``server.auth.throttle``). An unknown e-mail address goes through
    the same steps, so neither the answers nor the waits tell which accounts exist.
    """
    email = body.email.strip().lower()
    account = throttle.login_account(email)
    admitted = await throttle.admit(throttle.LOGIN, account=account, source=source)
    if not admitted.familiar:
        await limiter.hit(ratelimit.LOGIN_PER_ACCOUNT, email)
    user = await User.select().where(User.email == email).first()
    checked = await verify_password(user["password_hash"] if user else None, body.password)
    if user is None or not checked.matches or not user["active"]:
        raise NotAuthenticated("email or password is wrong")
    if Role(user["role"]) not in BACK_OFFICE_ROLES:
        raise NotAuthenticated("email or password is wrong")
    await throttle.succeeded(throttle.LOGIN, account=account, source=source)
    if checked.upgraded is not None:
        await _store_upgraded(user["id"], was=user["password_hash"], now=checked.upgraded)
    caller = Caller(
        user_id=user["id"], restaurant_id=user["restaurant_id"], role=Role(user["role"])
    )
    return await user_pair(keys, settings, caller=caller)


async def _store_upgraded(user_id: UUID, *, was: str, now: str) -> None:
    """Replace a hash made with older parameters, unless the password changed meanwhile."""
    await User.update({User.password_hash: now}).where(
        (User.id == user_id) & (User.password_hash == was)
    )
