"""Wire the providers from settings and run the poller for the app's lifetime."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from server.background import leases
from server.payments import gateway
from server.payments.gateway import Gateway
from server.payments.poller import sweep_and_log
from server.payments.providers.base import Provider
from server.payments.providers.cash import CashProvider
from server.settings import Settings, merchant_accounts

log = logging.getLogger("fynlo.payments")


def gateway_from_settings(settings: Settings, fakes: dict[str, Provider] | None = None) -> Gateway:
    """Cash always; Stripe (card, Apple Pay) and pay-by-bank when configured, or the fakes."""
    providers: dict[str, Provider] = {"cash": CashProvider(), **(fakes or {})}
    if settings.stripe_api_key and "stripe" not in providers:
        from server.payments.providers.stripe import StripeProvider

        providers["stripe"] = StripeProvider(
            api_key=settings.stripe_api_key,
            webhook_secret=settings.stripe_webhook_secret or "",
            api_base=settings.stripe_api_base,
            timeout_seconds=settings.provider_timeout_seconds,
        )
    key_file = settings.open_banking_signing_key_file
    if settings.open_banking_api_base and key_file is not None and "open_banking" not in providers:
        from server.payments.providers.open_banking import OpenBankingProvider, truelayer_hosts

        _, auth_base, page_base = truelayer_hosts(settings.open_banking_environment)
        providers["open_banking"] = OpenBankingProvider(
            api_base=settings.open_banking_api_base,
            auth_base=settings.open_banking_auth_base or auth_base,
            payment_page_base=settings.open_banking_payment_page_base or page_base,
            client_id=settings.open_banking_client_id or "",
            client_secret=settings.open_banking_client_secret or "",
            signing_kid=settings.open_banking_signing_kid or "",
            private_key_pem=key_file.read_text(),
            merchant_accounts=merchant_accounts(settings.open_banking_merchant_accounts),
            jwks_url=settings.open_banking_jwks_url or "",
            webhook_path=settings.open_banking_webhook_path,
            timeout_seconds=settings.provider_timeout_seconds,
        )
    return Gateway(
        providers,
        failure_threshold=settings.provider_failure_threshold,
        reset_seconds=settings.provider_circuit_reset_seconds,
    )


def payments_running(settings: Settings) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """Lifespan: install the gateway, poll in the background while this process holds the
    sweep's lease, close both on the way out."""

    @contextlib.asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        fakes = None
        if settings.payment_fakes:
            from server.payments.fakes.dev import start_dev_fakes

            fakes = start_dev_fakes(settings)
            log.warning(
                "fake payment providers: Stripe at %s, pay-by-bank sandbox at %s",
                fakes.stripe.url,
                fakes.bank.url,
            )
        installed = gateway_from_settings(settings, fakes.providers if fakes else None)
        gateway.install(installed)
        try:
            async with leases.running(
                "payments_sweep",
                sweep_and_log,
                every=settings.payment_poll_seconds,
                lease_seconds=settings.background_lease_seconds,
            ):
                yield
        finally:
            await installed.close()
            gateway.install(None)
            if fakes is not None:
                fakes.stop()

    return lifespan
