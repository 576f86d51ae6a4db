"""Apple Pay on the web asks the merchant's server for a session from Apple's gateway."""

from __future__ import annotations

import ssl
from typing import Any

import httpx

from server.payments.providers.base import ProviderUnavailable


async def apple_pay_merchant_session(
    *,
    gateway_url: str,
    merchant_id: str,
    display_name: str,
    domain: str,
    timeout_seconds: float,
    cert: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """Ask Apple for the opaque merchant session a browser needs to show Apple Pay.

    Apple's gateway wants mutual TLS with the merchant identity certificate; ``cert`` is its
    ``(certificate, private key)`` file pair. The session goes to the browser unchanged
    (developer.apple.com/documentation/applepayontheweb/requesting-an-apple-pay-payment-session).
    """
    verify: ssl.SSLContext | bool = True
    if cert is not None:
        verify = ssl.create_default_context()
        verify.load_cert_chain(*cert)
    request = {
        "merchantIdentifier": merchant_id,
        "displayName": display_name,
        "initiative": "web",
        "initiativeContext": domain,
    }
    try:
        async with httpx.AsyncClient(verify=verify, timeout=timeout_seconds) as http:
            response = await http.post(gateway_url, json=request)
            response.raise_for_status()
            session = response.json()
    except (httpx.HTTPError, ValueError) as error:
        raise ProviderUnavailable(f"Apple Pay merchant validation failed: {error}") from error
    if not isinstance(session, dict):
        raise ProviderUnavailable("Apple Pay merchant validation answered with no session")
    return session
