"""Forged and misused tokens against one protected route: every one is a 401 (B1, B2).

The baseline is an owner's access token reading ``GET /api/v1/products`` (200). Each case
mutates one thing. Attacker tokens are built with joserfc where it allows, by hand where it
refuses (``alg: none``, HS256 keyed with our public key, unknown critical headers); cases
"signed by us" use the server's own key, so only the server's rules stand between the
token and the route (RFC 8725 §3.1, 3.10, 3.11; ASVS 9.1.1-9.1.3, 9.2.1-9.2.3).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from joserfc import jwe, jwt
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey
from litestar import Litestar

from server.auth.keys import SigningKeys
from server.auth.tables import Role
from server.auth.tokens import AUDIENCE, LEEWAY_SECONDS, TokenKind, issue
from server.settings import get_settings
from tests.factories import Ipad, Tenant, make_employee, make_ipad, sign_in

ROUTE = "/api/v1/products"

ATTACKER = ECKey.generate_key("P-256", parameters={"kid": "attacker", "alg": "ES256"})
ATTACKER_RSA = RSAKey.generate_key(2048, parameters={"kid": "attacker-rsa"})
ATTACKER_P384 = ECKey.generate_key("P-384", parameters={"kid": "attacker-p384"})
ATTACKER_ED25519 = OKPKey.generate_key("Ed25519", parameters={"kid": "attacker-ed"})


def b64(data: bytes | str | dict[str, Any] | list[Any]) -> str:
    if isinstance(data, dict | list):
        data = json.dumps(data, separators=(",", ":"))
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def es256(key: ECKey, header: dict[str, Any], payload: bytes | dict[str, Any]) -> str:
    """A JWS signed with ES256 by hand, for headers joserfc refuses to write."""
    signing_input = f"{b64(header)}.{b64(payload)}"
    der = key.private_key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))  # type: ignore[union-attr]
    r, s = decode_dss_signature(der)
    return f"{signing_input}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def hs256(secret: bytes, header: dict[str, Any], claims: dict[str, Any]) -> str:
    signing_input = f"{b64(header)}.{b64(claims)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def segments(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    header, payload, signature = token.split(".")
    return json.loads(unb64(header)), json.loads(unb64(payload)), signature


@dataclass
class Forge:
    """The server's keys and a tenant, with a valid owner token to mutate."""

    keys: SigningKeys
    tenant: Tenant
    good: str

    @property
    def kid(self) -> str:
        return str(self.keys.current.kid)

    def claims(self, **changes: Any) -> dict[str, Any]:
        """Valid access-token claims for the tenant's owner; a value of None drops a claim."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": get_settings().jwt_issuer,
            "aud": AUDIENCE,
            "sub": str(self.tenant.user_id),
            "rid": str(self.tenant.restaurant_id),
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            "jti": str(uuid.uuid4()),
            "role": Role.owner.value,
            **changes,
        }
        return {name: value for name, value in claims.items() if value is not None}

    def header(self, **changes: Any) -> dict[str, Any]:
        header = {"alg": "ES256", "kid": self.kid, "typ": TokenKind.access.value, **changes}
        return {name: value for name, value in header.items() if value is not None}

    def ours(self, claims: dict[str, Any] | None = None, **header: Any) -> str:
        """Signed with the server's own current key."""
        return es256(self.keys.current, self.header(**header), claims or self.claims())

    def kind(self, kind: TokenKind) -> str:
        """A valid token of another kind, carrying the owner's role to be as tempting as can be."""
        return issue(
            self.keys,
            kind,
            subject=self.tenant.user_id,
            restaurant_id=self.tenant.restaurant_id,
            issuer=get_settings().jwt_issuer,
            ttl=600,
            role=Role.owner.value,
            did=str(uuid.uuid4()),
            perm="catalog.view",
        )

    def public_pem(self) -> bytes:
        return self.keys.current.as_bytes(private=False)

    def public_jwk_json(self) -> bytes:
        return json.dumps(self.keys.current.as_dict(private=False)).encode()


def attacker_signed(forge: Forge, key: Any, alg: str, **header: Any) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joserfc warns that EdDSA is deprecated
        return jwt.encode(forge.header(alg=alg, **header), forge.claims(), key, algorithms=[alg])


def tamper_payload(token: str, **changes: Any) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(unb64(payload)) | changes
    return f"{header}.{b64(claims)}.{signature}"


def flip_last_signature_byte(token: str) -> str:
    header, payload, signature = token.split(".")
    raw = bytearray(unb64(signature))
    raw[-1] ^= 0x01
    return f"{header}.{payload}.{b64(bytes(raw))}"


def retyped(token: str, typ: str) -> str:
    header, payload, signature = segments(token)
    return f"{b64(header | {'typ': typ})}.{b64(payload)}.{signature}"


def jwe_dir(forge: Forge) -> str:
    return jwe.encrypt_compact(
        {"alg": "dir", "enc": "A256GCM", "kid": forge.kid, "typ": "at+jwt"},
        json.dumps(forge.claims()),
        OctKey.generate_key(256),
        algorithms=["dir", "A256GCM"],
    )


Bearer = Callable[[Forge], str]

BEARERS: dict[str, Bearer] = {
    # alg none and algorithm confusion
    "alg none, no signature": lambda f: f"{b64(f.header(alg='none'))}.{b64(f.claims())}.",
    "alg none, with a signature": lambda f: (
        f"{b64(f.header(alg='none'))}.{b64(f.claims())}.{f.good.split('.')[2]}"
    ),
    "alg None capitalised": lambda f: f"{b64(f.header(alg='None'))}.{b64(f.claims())}.",
    "alg NONE, no kid": lambda f: f"{b64(f.header(alg='NONE', kid=None))}.{b64(f.claims())}.",
    "HS256 keyed with our public PEM": lambda f: hs256(
        f.public_pem(), f.header(alg="HS256"), f.claims()
    ),
    "HS256 keyed with our public JWK": lambda f: hs256(
        f.public_jwk_json(), f.header(alg="HS256"), f.claims()
    ),
    "HS512 keyed with our public PEM": lambda f: hs256(
        f.public_pem(), f.header(alg="HS512"), f.claims()
    ),
    "RS256 by an attacker key": lambda f: attacker_signed(f, ATTACKER_RSA, "RS256"),
    "ES384 by an attacker key": lambda f: attacker_signed(f, ATTACKER_P384, "ES384"),
    "EdDSA by an attacker key": lambda f: attacker_signed(f, ATTACKER_ED25519, "EdDSA"),
    "Ed25519 by an attacker key": lambda f: attacker_signed(f, ATTACKER_ED25519, "Ed25519"),
    # claims, signed by us
    "expired an hour ago": lambda f: f.ours(
        f.claims(
            iat=int(time.time()) - 7200, nbf=int(time.time()) - 7200, exp=int(time.time()) - 3600
        )
    ),
    "expired just beyond the leeway": lambda f: f.ours(
        f.claims(exp=int(time.time()) - LEEWAY_SECONDS - 5, iat=int(time.time()) - 900)
    ),
    "nbf beyond the leeway": lambda f: f.ours(f.claims(nbf=int(time.time()) + LEEWAY_SECONDS + 60)),
    "iat in the future": lambda f: f.ours(f.claims(iat=int(time.time()) + LEEWAY_SECONDS + 60)),
    "iat missing": lambda f: f.ours(f.claims(iat=None)),
    "exp missing": lambda f: f.ours(f.claims(exp=None)),
    "nbf missing": lambda f: f.ours(f.claims(nbf=None)),
    "exp not a number": lambda f: f.ours(f.claims(exp="tomorrow")),
    "wrong iss": lambda f: f.ours(f.claims(iss="https://attacker.example")),
    "iss missing": lambda f: f.ours(f.claims(iss=None)),
    "wrong aud": lambda f: f.ours(f.claims(aud="another-api")),
    "aud missing": lambda f: f.ours(f.claims(aud=None)),
    "sub missing": lambda f: f.ours(f.claims(sub=None)),
    "rid missing": lambda f: f.ours(f.claims(rid=None)),
    "jti missing": lambda f: f.ours(f.claims(jti=None)),
    "rid not a UUID": lambda f: f.ours(f.claims(rid="' OR 1=1 --")),
    "sub not a UUID": lambda f: f.ours(f.claims(sub="admin")),
    "role missing": lambda f: f.ours(f.claims(role=None)),
    "role unknown": lambda f: f.ours(f.claims(role="superuser")),
    "payload a JSON array": lambda f: es256(f.keys.current, f.header(), b'["owner"]'),
    "payload not JSON": lambda f: es256(f.keys.current, f.header(), b"role=owner"),
    # which key
    "unknown kid, attacker key": lambda f: attacker_signed(f, ATTACKER, "ES256", kid="nope"),
    "unknown kid, signed by our key": lambda f: f.ours(kid=uuid.uuid4().hex),
    "kid a path": lambda f: attacker_signed(f, ATTACKER, "ES256", kid="../../../dev/null"),
    "no kid, attacker key": lambda f: attacker_signed(f, ATTACKER, "ES256", kid=None),
    "no kid, signed by our key": lambda f: f.ours(kid=None),
    "kid not a string, signed by our key": lambda f: f.ours(kid=1),
    "our kid, attacker key": lambda f: attacker_signed(f, ATTACKER, "ES256"),
    "jku to the attacker's JWKS": lambda f: attacker_signed(
        f, ATTACKER, "ES256", kid="attacker", jku="https://attacker.example/jwks.json"
    ),
    "x5u to the attacker's certificate": lambda f: attacker_signed(
        f, ATTACKER, "ES256", kid="attacker", x5u="https://attacker.example/cert.pem"
    ),
    "jwk header embedding the attacker key": lambda f: attacker_signed(
        f, ATTACKER, "ES256", kid="attacker", jwk=ATTACKER.as_dict(private=False)
    ),
    "jwk header embedding the attacker key under our kid": lambda f: attacker_signed(
        f, ATTACKER, "ES256", jwk=ATTACKER.as_dict(private=False)
    ),
    "crit names an unknown extension, signed by our key": lambda f: f.ours(
        crit=["x-fynlo-admin"], **{"x-fynlo-admin": True}
    ),
    # tampering and malformed tokens
    "payload tampered: role changed": lambda f: tamper_payload(f.good, role=Role.manager.value),
    "payload tampered: other restaurant": lambda f: tamper_payload(f.good, rid=str(uuid.uuid4())),
    "signature tampered": lambda f: flip_last_signature_byte(f.good),
    "signature from another of our tokens": lambda f: (
        f"{f.good.rsplit('.', 1)[0]}.{f.ours().split('.')[2]}"
    ),
    "signature missing": lambda f: f.good.rsplit(".", 1)[0] + ".",
    "truncated": lambda f: f.good[: len(f.good) // 2],
    "header and payload only": lambda f: f.good.rsplit(".", 1)[0],
    "extra segment": lambda f: f.good + ".e30",
    "empty segments": lambda f: "..",
    "non-base64 garbage": lambda f: "!!!.@@@.###",
    "not a JWT at all": lambda f: "hunter2",
    "header not JSON": lambda f: f"{b64('not json')}.{f.good.split('.', 1)[1]}",
    "header a JSON array": lambda f: f"{b64([f.kid])}.{f.good.split('.', 1)[1]}",
    "header nested 5000 deep": lambda f: f"{b64('[' * 5000)}.{f.good.split('.', 1)[1]}",
    "header nested 400 deep": lambda f: f"{b64('[' * 400)}.{f.good.split('.', 1)[1]}",
    "JWE-shaped, five segments": lambda f: ".".join(
        [b64(f.header(alg="RSA-OAEP-256", enc="A256GCM")), "", b64(b"iv"), b64(b"x"), b64(b"t")]
    ),
    "JWE, alg dir": jwe_dir,
    "JWS JSON serialization": lambda f: json.dumps(
        {"payload": f.good.split(".")[1], "protected": f.good.split(".")[0], "signature": "x"}
    ),
    # type confusion: valid tokens of every other kind as the bearer (B2)
    "refresh token": lambda f: f.kind(TokenKind.refresh),
    "employee token": lambda f: f.kind(TokenKind.employee),
    "approval token": lambda f: f.kind(TokenKind.approval),
    "access token re-typed as JWT, signed by us": lambda f: f.ours(typ="JWT"),
    "access token without typ, signed by us": lambda f: f.ours(typ=None),
    "access token typ swapped to refresh+jwt": lambda f: retyped(f.good, "refresh+jwt"),
    "access token typ swapped to device+jwt": lambda f: retyped(f.good, "device+jwt"),
    "access token re-signed as device+jwt": lambda f: f.ours(typ=TokenKind.device.value),
}


@pytest.fixture
async def forge(app: Litestar, tenant: Tenant) -> Forge:
    return Forge(app.state.signing_keys, tenant, tenant.token)


async def assert_not_authenticated(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "not_authenticated"


async def test_the_baseline_owner_token_reads_products(
    client: httpx.AsyncClient, forge: Forge
) -> None:
    response = await client.get(ROUTE, headers={"Authorization": f"Bearer {forge.good}"})
    assert response.status_code == 200, response.text


async def test_a_token_built_by_hand_with_our_key_is_accepted(
    client: httpx.AsyncClient, forge: Forge
) -> None:
    """The corpus's own builder makes valid tokens, so each mutation is the only fault."""
    response = await client.get(ROUTE, headers={"Authorization": f"Bearer {forge.ours()}"})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("bearer", BEARERS.values(), ids=BEARERS.keys())
async def test_a_forged_or_misused_bearer_is_rejected(
    client: httpx.AsyncClient, forge: Forge, bearer: Bearer
) -> None:
    response = await client.get(ROUTE, headers={"Authorization": f"Bearer {bearer(forge)}"})
    await assert_not_authenticated(response)


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Bearer    ", "Basic b3duZXI6aHVudGVyMg==", "Token abc"],
    ids=[
        "no header",
        "empty header",
        "Bearer alone",
        "empty bearer",
        "blank bearer",
        "Basic scheme",
        "another scheme",
    ],
)
async def test_a_missing_or_empty_bearer_is_rejected(
    client: httpx.AsyncClient, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    await assert_not_authenticated(await client.get(ROUTE, headers=headers))


async def test_a_token_without_its_scheme_is_rejected(
    client: httpx.AsyncClient, forge: Forge
) -> None:
    await assert_not_authenticated(await client.get(ROUTE, headers={"Authorization": forge.good}))


# The iPad path: a device bearer, with an employee session in X-Fynlo-Employee.


@dataclass
class Till:
    a: Ipad
    """Device A with an employee signed in."""
    b: Ipad
    """Device B of the same restaurant, nobody signed in."""


@pytest.fixture
async def till(app: Litestar, tenant: Tenant) -> Till:
    employee = await make_employee(tenant, role=Role.manager)
    a = await sign_in(app, await make_ipad(app, tenant, name="Till A"), employee)
    return Till(a, await make_ipad(app, tenant, name="Till B"))


async def test_the_ipad_baseline_reads_products(client: httpx.AsyncClient, till: Till) -> None:
    assert (await client.get(ROUTE, headers=till.a.headers)).status_code == 200
    assert (await client.get(ROUTE, headers=till.b.headers)).status_code == 200


def _headers(bearer: str, employee: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {bearer}"}
    if employee is not None:
        headers["X-Fynlo-Employee"] = employee
    return headers


IPAD_CASES: dict[str, Callable[[Till], dict[str, str]]] = {
    "employee token of device A with device B's bearer": lambda t: _headers(
        t.b.access_token, t.a.employee_token
    ),
    "employee token as the bearer": lambda t: _headers(str(t.a.employee_token)),
    "employee token as bearer and as session": lambda t: _headers(
        str(t.a.employee_token), t.a.employee_token
    ),
    "device refresh token as the bearer": lambda t: _headers(t.a.refresh_token),
    "device token as the employee session": lambda t: _headers(t.a.access_token, t.a.access_token),
    "device token typ swapped to at+jwt": lambda t: _headers(retyped(t.a.access_token, "at+jwt")),
    "device token typ swapped to employee+jwt": lambda t: _headers(
        retyped(t.a.access_token, "employee+jwt")
    ),
    "employee token typ swapped to device+jwt": lambda t: _headers(
        retyped(str(t.a.employee_token), "device+jwt")
    ),
    "device token with a tampered employee session": lambda t: _headers(
        t.b.access_token, tamper_payload(str(t.a.employee_token), did=str(t.b.device_id))
    ),
    "device token with a garbage employee session": lambda t: _headers(t.a.access_token, "garbage"),
}


@pytest.mark.parametrize("headers", IPAD_CASES.values(), ids=IPAD_CASES.keys())
async def test_a_misused_ipad_token_is_rejected(
    client: httpx.AsyncClient, till: Till, headers: Callable[[Till], dict[str, str]]
) -> None:
    await assert_not_authenticated(await client.get(ROUTE, headers=headers(till)))


async def test_a_device_token_re_signed_as_an_access_token_is_rejected(
    client: httpx.AsyncClient, forge: Forge, till: Till
) -> None:
    """Signed by us with ``typ: at+jwt``: it still lacks what an access token must carry."""
    _, claims, _ = segments(till.b.access_token)
    token = forge.ours(claims)
    await assert_not_authenticated(await client.get(ROUTE, headers=_headers(token)))


async def test_an_employee_token_re_signed_as_a_device_token_is_rejected(
    client: httpx.AsyncClient, forge: Forge, till: Till
) -> None:
    """Its subject is an employee, not an enrolled device."""
    _, claims, _ = segments(str(till.a.employee_token))
    token = forge.ours(claims, typ=TokenKind.device.value)
    await assert_not_authenticated(await client.get(ROUTE, headers=_headers(token)))
