"""Back-office sign-in."""

from __future__ import annotations

from server.auth.keys import SigningKeys
from server.auth.passwords import verify_password
from server.auth.schemas import LoginRequest, TokenPair
from server.auth.sessions import user_pair
from server.auth.tables import Role, User
from server.auth.tokens import Caller
from server.errors import NotAuthenticated
from server.settings import Settings

# Staff roles sign in on an iPad with a PIN, never here.
BACK_OFFICE_ROLES = frozenset({Role.owner, Role.manager})


async def login(*, body: LoginRequest, keys: SigningKeys, settings: Settings) -> TokenPair:
    """Exchange email and password for a token pair; every failure answers alike."""
    user = await User.select().where(User.email == body.email.strip().lower()).first()
    password_ok = await verify_password(user["password_hash"] if user else None, body.password)
    if user is None or not password_ok or not user["active"]:
        raise NotAuthenticated("email or password is wrong")
    if Role(user["role"]) not in BACK_OFFICE_ROLES:
        raise NotAuthenticated("email or password is wrong")
    caller = Caller(
        user_id=user["id"], restaurant_id=user["restaurant_id"], role=Role(user["role"])
    )
    return await user_pair(keys, settings, caller=caller)
