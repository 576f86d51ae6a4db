"""Issue and verify our JWTs. Each kind has its own ``typ`` and rules, so none stands in for
another (RFC 8725 §3.11): a refresh token is useless as an access token and so on.

- ``at+jwt``: a back-office user's access token (RFC 9068), at most 15 minutes.
- ``device+jwt``: an enrolled iPad's access token, at most 15 minutes.
- ``employee+jwt``: an employee's session after a PIN, bound to one device.
- ``refresh+jwt``: exchanged once for a new pair; its ``jti`` is tracked in the database.
- ``approval+jwt``: a manager's PIN approval of one permission, spent by one request.
"""

from __future__ import annotations

import time
import uuid
from enum import StrEnum
from typing import Any
from uuid import UUID

import msgspec
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, GuestProtocol
from joserfc.jwt import JWTClaimsRegistry

from server.auth import signature_cache
from server.auth.keys import ALGORITHM, SigningKeys
from server.auth.tables import Role
from server.errors import NotAuthenticated

AUDIENCE = "fynlo-api"
# Clock skew tolerated between our server processes and the iPads' clocks.
LEEWAY_SECONDS = 30


class TokenKind(StrEnum):
    access = "at+jwt"
    device = "device+jwt"
    employee = "employee+jwt"
    refresh = "refresh+jwt"
    approval = "approval+jwt"


class Caller(msgspec.Struct, frozen=True, kw_only=True):
    """Who is asking: read only from verified tokens, never from the request body.

    A back-office user has ``user_id``; an iPad has ``device_id`` and ``location_id``, and
    with an employee signed in on it also ``employee_id``. ``role`` is None for an iPad
    with nobody signed in.
    """

    restaurant_id: UUID
    role: Role | None
    user_id: UUID | None = None
    device_id: UUID | None = None
    employee_id: UUID | None = None
    location_id: UUID | None = None

    @property
    def actor_kind(self) -> str:
        if self.user_id is not None:
            return "user"
        return "employee" if self.employee_id is not None else "device"

    @property
    def actor_id(self) -> UUID | None:
        return self.user_id or self.employee_id or self.device_id


class Claims(msgspec.Struct, frozen=True, kw_only=True):
    """The claims our tokens carry beyond the registered ones."""

    sub: UUID
    rid: UUID
    jti: UUID
    exp: int
    role: Role | None = None
    lid: UUID | None = None
    did: UUID | None = None
    fam: UUID | None = None
    perm: str | None = None


def issue(
    keys: SigningKeys,
    kind: TokenKind,
    *,
    subject: UUID,
    restaurant_id: UUID,
    issuer: str,
    ttl: int,
    jti: UUID | None = None,
    **extra: str | None,
) -> str:
    """Sign a token of ``kind``; ``extra`` adds claims such as ``role``, ``lid``, ``did``."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": AUDIENCE,
        "sub": str(subject),
        "rid": str(restaurant_id),
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        "jti": str(jti or uuid.uuid4()),
        **{name: value for name, value in extra.items() if value is not None},
    }
    # Read once: the key file may change between two reads, and kid must name the signer.
    signer = keys.signing_key()
    header = {"alg": ALGORITHM, "kid": signer.kid, "typ": kind.value}
    return jwt.encode(header, claims, signer, algorithms=[ALGORITHM])


def verify(keys: SigningKeys, token: str, kind: TokenKind, *, issuer: str) -> Claims:
    """The claims of a valid, current token of exactly ``kind``; anything else is a 401."""
    try:
        header, claims = _verified_parts(keys, token)
        if header.get("typ") != kind.value:
            raise NotAuthenticated("wrong token type")
        _rules(issuer).validate(claims)
        return msgspec.convert(claims, Claims, strict=False)
    except NotAuthenticated:
        raise
    except (JoseError, msgspec.ValidationError, KeyError, ValueError, TypeError) as exc:
        raise NotAuthenticated("invalid or expired token") from exc


def _verified_parts(keys: SigningKeys, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of a token whose signature holds under one of our keys now."""
    seen = signature_cache.lookup(token)
    if seen is not None and keys.verifying_key(seen.header.get("kid")) is seen.key:
        return seen.header, seen.claims
    used: list[ECKey] = []

    def resolve(guest: GuestProtocol) -> ECKey:
        key = keys.resolve(guest)
        used.append(key)
        return key

    decoded = jwt.decode(token, resolve, algorithms=[ALGORITHM])
    signature_cache.remember(
        token, signature_cache.Verified(decoded.header, decoded.claims, used[0])
    )
    return decoded.header, decoded.claims


def issue_access_token(keys: SigningKeys, caller: Caller, *, issuer: str, ttl: int) -> str:
    """A back-office user's access token."""
    assert caller.user_id is not None and caller.role is not None
    return issue(
        keys,
        TokenKind.access,
        subject=caller.user_id,
        restaurant_id=caller.restaurant_id,
        issuer=issuer,
        ttl=ttl,
        role=caller.role.value,
    )


def verify_access_token(keys: SigningKeys, token: str, *, issuer: str) -> Caller:
    return access_caller(verify(keys, token, TokenKind.access, issuer=issuer))


def access_caller(claims: Claims) -> Caller:
    """The back-office user a verified access token's claims name."""
    if claims.role is None:
        raise NotAuthenticated("invalid or expired token")
    return Caller(user_id=claims.sub, restaurant_id=claims.rid, role=claims.role)


def _rules(issuer: str) -> JWTClaimsRegistry:
    return JWTClaimsRegistry(
        leeway=LEEWAY_SECONDS,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": AUDIENCE},
        exp={"essential": True},
        nbf={"essential": True},
        iat={"essential": True},
        sub={"essential": True},
        rid={"essential": True},
        jti={"essential": True},
    )
