"""EC P-521 key pairs for request and webhook signing, and their public JWKs.

TrueLayer signs with ES512 only (ECDSA on P-521 with SHA-512), so that is the one curve here
(https://github.com/TrueLayer/truelayer-signing).
"""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

# P-521 coordinates are 521 bits, i.e. 66 bytes once padded (RFC 7518 section 6.2.1.2).
_COORDINATE_BYTES = 66


def generate_key_pair() -> tuple[str, str]:
    """A new (private key PEM, public key PEM) pair on P-521; the private one is PKCS#8."""
    private_key = ec.generate_private_key(ec.SECP521R1())
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem.decode(), public_pem.decode()


def public_key_pem(private_key_pem: str) -> str:
    """The public half of a private key PEM."""
    private_key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def public_jwk(public_key_pem: str, *, kid: str) -> dict[str, str]:
    """The public key as a JWK (RFC 7517), as served in a ``/.well-known/jwks.json``."""
    key = serialization.load_pem_public_key(public_key_pem.encode())
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp521r1":
        raise ValueError("expected an EC P-521 public key")
    numbers = key.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-521",
        "alg": "ES512",
        "use": "sig",
        "kid": kid,
        "x": _base64url(numbers.x.to_bytes(_COORDINATE_BYTES, "big")),
        "y": _base64url(numbers.y.to_bytes(_COORDINATE_BYTES, "big")),
    }


def _base64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
