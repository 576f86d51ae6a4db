"""The fake Stripe and pay-by-bank sandbox for `make run`, wired to this server's webhooks.

Both serve on 127.0.0.1 in background threads of the server process. Keys are made fresh on
every start: the sandbox and its client are both ours, so nothing needs to persist.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from server.payments.fakes.keys import generate_key_pair
from server.payments.fakes.open_banking_sandbox import bind_public_url, create_sandbox
from server.payments.fakes.open_banking_sandbox_accounts import DEFAULT_MERCHANT_ACCOUNTS
from server.payments.fakes.runner import RunningFake, serve_in_thread
from server.payments.fakes.stripe_fake import create_stripe_fake
from server.payments.providers.base import Provider
from server.payments.providers.open_banking import OpenBankingProvider
from server.payments.providers.stripe import StripeProvider
from server.payments.qr import return_uri
from server.settings import Settings

WEBHOOKS = "/api/v1/payments/webhooks"


@dataclass
class DevFakes:
    stripe: RunningFake
    bank: RunningFake
    providers: dict[str, Provider]

    def stop(self) -> None:
        self.stripe.stop()
        self.bank.stop()


def start_dev_fakes(settings: Settings) -> DevFakes:
    server = f"http://127.0.0.1:{settings.port}{WEBHOOKS}"
    webhook_secret = f"whsec_{secrets.token_hex(16)}"
    stripe = serve_in_thread(
        create_stripe_fake(webhook_url=f"{server}/stripe", webhook_secret=webhook_secret),
        name="fake-stripe",
    )
    client_private, client_public = generate_key_pair()
    client_secret = secrets.token_urlsafe(24)
    sandbox_private, _ = generate_key_pair()
    sandbox = create_sandbox(
        client_public_key_pem=client_public,
        client_kid="fynlo-dev",
        signing_private_key_pem=sandbox_private,
        signing_kid="sandbox-dev",
        client_id="fynlo-dev",
        client_secret=client_secret,
        webhook_url=f"{server}/open-banking",
        expiry_seconds=settings.payment_qr_ttl_seconds,
        payee_name="Fynlo demo restaurant",
        return_uris=[return_uri()],
    )
    bank = serve_in_thread(sandbox, name="open-banking-sandbox")
    bind_public_url(sandbox, bank.url)
    providers: dict[str, Provider] = {
        "stripe": StripeProvider(
            api_key="sk_test_fynlo_dev",
            webhook_secret=webhook_secret,
            api_base=stripe.url,
            timeout_seconds=settings.provider_timeout_seconds,
        ),
        "open_banking": OpenBankingProvider(
            api_base=bank.url,
            auth_base=bank.url,
            payment_page_base=bank.url,
            signing_kid="fynlo-dev",
            private_key_pem=client_private,
            merchant_accounts=DEFAULT_MERCHANT_ACCOUNTS,
            client_id="fynlo-dev",
            client_secret=client_secret,
            jwks_url=f"{bank.url}/.well-known/jwks.json",
            timeout_seconds=settings.provider_timeout_seconds,
        ),
    }
    return DevFakes(stripe=stripe, bank=bank, providers=providers)
