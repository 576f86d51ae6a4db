"""Which payment providers a ``fynlo`` command talks to, and where they are.

Real providers when ``FYNLO_STRIPE_API_KEY`` or ``FYNLO_OPEN_BANKING_API_BASE`` is set (as
the server's own settings); otherwise the fake Stripe and pay-by-bank sandbox a running
``make run`` started, found through the file it keeps beside its database
(``FYNLO_DATA_DIR/dev-providers.json``), the way ``fynlo`` commands find its database;
otherwise cash alone. Cash keeps no books of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.payments.fakes.dev import dev_providers, read_state
from server.payments.gateway import Gateway
from server.payments.setup import gateway_from_settings
from server.settings import Settings

STRIPE_API = "https://api.stripe.com"
# How each provider is named to a person, and what turns it on.
LABELS = {"stripe": "Stripe", "open_banking": "pay by bank"}
SETTING = {"stripe": "FYNLO_STRIPE_API_KEY", "open_banking": "FYNLO_OPEN_BANKING_API_BASE"}


@dataclass(frozen=True)
class CommandProviders:
    gateway: Gateway
    addresses: dict[str, str]
    """Where each provider with books is: named in errors, never a secret."""
    source: str
    """Where the providers came from, said in the output."""


def command_providers(settings: Settings) -> CommandProviders:
    if settings.stripe_api_key or settings.open_banking_api_base:
        addresses = {}
        if settings.stripe_api_key:
            addresses["stripe"] = settings.stripe_api_base or STRIPE_API
        if settings.open_banking_api_base and settings.open_banking_signing_key_file:
            addresses["open_banking"] = settings.open_banking_api_base
        return CommandProviders(gateway_from_settings(settings), addresses, "FYNLO_* settings")
    state = read_state(settings)
    if state is not None:
        return CommandProviders(
            gateway_from_settings(settings, dev_providers(state, settings)),
            {"stripe": state.stripe_url, "open_banking": state.bank_url},
            f"the fakes `make run` started (process {state.pid})",
        )
    return CommandProviders(gateway_from_settings(settings), {}, "none configured: cash only")
