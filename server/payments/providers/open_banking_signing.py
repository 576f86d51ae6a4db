"""TrueLayer's ``Tl-Signature`` (a detached ES512 JWS), behind typed functions.

``truelayer_signing`` ships without type hints, so its builders are wrapped once here and the
provider and the sandbox both sign and verify through these. The signature covers the method,
the path, the named headers and the body (https://github.com/TrueLayer/truelayer-signing).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import truelayer_signing  # type: ignore[import-untyped]
from truelayer_signing.errors import TlSigningException  # type: ignore[import-untyped]


class SignatureInvalid(Exception):
    """A ``Tl-Signature`` that is malformed or does not match the request."""


@dataclass(frozen=True)
class SignatureHeader:
    """The parts of a signature's JWS header a verifier decides on before checking it."""

    kid: str
    jku: str | None


def sign(
    *,
    kid: str,
    private_key_pem: str,
    path: str,
    headers: Mapping[str, str],
    body: str,
    jku: str | None = None,
) -> str:
    """The ``Tl-Signature`` for ``POST path`` with ``headers`` (all of them signed) and ``body``."""
    signer = (
        truelayer_signing.sign_with_pem(kid, private_key_pem)
        .set_method(truelayer_signing.HttpMethod.POST)
        .set_path(path)
        .add_headers(dict(headers))
        .set_body(body)
    )
    if jku is not None:
        signer = signer.set_jku(jku)
    return str(signer.sign())


def read_header(signature: str) -> SignatureHeader:
    """The signature's ``kid`` and ``jku``, unverified. Raises SignatureInvalid."""
    try:
        header = truelayer_signing.extract_jws_header(signature)
    except (TlSigningException, TypeError, ValueError) as exc:
        raise SignatureInvalid(f"unreadable signature header: {exc}") from exc
    jku = header.jku
    return SignatureHeader(kid=str(header.kid), jku=None if jku is None else str(jku))


def verify_with_public_key(
    *,
    public_key_pem: str,
    signature: str,
    path: str,
    headers: Mapping[str, str],
    required_headers: Sequence[str],
    body: str,
) -> None:
    """Check a ``POST`` request's signature against one PEM key. Raises SignatureInvalid."""
    _verify(
        lambda: truelayer_signing.verify_with_pem(public_key_pem),
        signature=signature,
        path=path,
        headers=headers,
        required_headers=required_headers,
        body=body,
    )


def verify_with_jwk(
    *,
    jwk: Mapping[str, str],
    signature: str,
    path: str,
    headers: Mapping[str, str],
    required_headers: Sequence[str],
    body: str,
) -> None:
    """Check a ``POST`` request's signature against one public JWK. Raises SignatureInvalid."""
    _verify(
        lambda: truelayer_signing.verify_with_jwks(
            {"keys": [dict(jwk)]}, truelayer_signing.extract_jws_header(signature)
        ),
        signature=signature,
        path=path,
        headers=headers,
        required_headers=required_headers,
        body=body,
    )


def _verify(
    verifier: Callable[[], Any],
    *,
    signature: str,
    path: str,
    headers: Mapping[str, str],
    required_headers: Sequence[str],
    body: str,
) -> None:
    try:
        (
            verifier()
            .set_method(truelayer_signing.HttpMethod.POST)
            .set_path(path)
            .add_headers(dict(headers))
            .add_required_headers(list(required_headers))
            .set_body(body)
            .verify(signature)
        )
    # A malformed key or signature surfaces as whatever the parsing underneath raises.
    except (TlSigningException, KeyError, TypeError, ValueError) as exc:
        raise SignatureInvalid(str(exc) or type(exc).__name__) from exc
