"""Apple Pay on the web: the merchant-validation call, to Apple's URLs only.

The browser hands us Apple's ``validationURL``; we call it with our merchant identity
certificate and pass Apple's opaque session back. Only configured URLs are called (Apple
publishes a short list), so the endpoint cannot be used to make the server fetch anything
else. In-app Apple Pay on the iPad needs no validation: its token goes straight into a
payment with ``method: apple_pay``.
"""

from __future__ import annotations

from typing import Any

from server.payments.errors import ProviderDown, ValidationUrlRefused
from server.payments.providers.apple_pay_gateway import apple_pay_merchant_session
from server.payments.providers.base import ProviderUnavailable
from server.settings import get_settings


def allowed_urls() -> frozenset[str]:
    urls = get_settings().apple_pay_validation_urls.split(",")
    return frozenset(url.strip() for url in urls if url.strip())


async def merchant_session(*, validation_url: str, domain: str) -> dict[str, Any]:
    settings = get_settings()
    if validation_url not in allowed_urls():
        raise ValidationUrlRefused(field="validation_url")
    certificate = settings.apple_pay_certificate_file
    try:
        return await apple_pay_merchant_session(
            gateway_url=validation_url,
            merchant_id=settings.apple_pay_merchant_id,
            display_name="Fynlo",
            domain=domain,
            timeout_seconds=settings.provider_timeout_seconds,
            cert=None if certificate is None else (str(certificate), str(certificate)),
        )
    except ProviderUnavailable as exc:
        raise ProviderDown(str(exc), retry_after_seconds=5) from exc
