"""Issue and verify access tokens (JWT, RFC 9068 ``at+jwt``)."""

from __future__ import annotations

import time
import uuid
from typing import Any
from uuid import UUID

import msgspec
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwt import JWTClaimsRegistry

from server.auth.keys import ALGORITHM, SigningKeys
from server.auth.tables import Role
from server.errors import NotAuthenticated

AUDIENCE = "fynlo-api"
ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 - a media type, not a secret


class Caller(msgspec.Struct, frozen=True, kw_only=True):
    """Who is asking: read only from a verified token, never from the request body."""

    user_id: UUID
    restaurant_id: UUID
    role: Role


def issue_access_token(keys: SigningKeys, caller: Caller, *, issuer: str, ttl: int) -> str:
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": AUDIENCE,
        "sub": str(caller.user_id),
        "rid": str(caller.restaurant_id),
        "role": caller.role.value,
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        "jti": uuid.uuid4().hex,
    }
    header = {"alg": ALGORITHM, "kid": keys.current.kid, "typ": ACCESS_TOKEN_TYPE}
    return jwt.encode(header, claims, keys.current, algorithms=[ALGORITHM])


def verify_access_token(keys: SigningKeys, token: str, *, issuer: str) -> Caller:
    """The caller a token names; anything short of a valid, current token is a 401."""
    try:
        decoded = jwt.decode(token, keys.key_set, algorithms=[ALGORITHM])
        if decoded.header.get("typ") != ACCESS_TOKEN_TYPE:
            raise NotAuthenticated("wrong token type")
        _claims_rules(issuer).validate(decoded.claims)
        claims: dict[str, Any] = decoded.claims
        return Caller(
            user_id=UUID(claims["sub"]),
            restaurant_id=UUID(claims["rid"]),
            role=Role(claims["role"]),
        )
    except NotAuthenticated:
        raise
    except (JoseError, KeyError, ValueError, TypeError) as exc:
        raise NotAuthenticated("invalid or expired token") from exc


def _claims_rules(issuer: str) -> JWTClaimsRegistry:
    return JWTClaimsRegistry(
        leeway=30,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": AUDIENCE},
        exp={"essential": True},
        nbf={"essential": True},
        sub={"essential": True},
        rid={"essential": True},
        role={"essential": True},
    )
