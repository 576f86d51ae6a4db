"""Reports tests: the payment providers' fakes (a trading day takes cards and pay by bank),
and the money invariants after every test, as the payments tests have them."""

from __future__ import annotations

from tests.integration.payments.conftest import (  # noqa: F401
    money_invariants,
    open_banking_sandbox,
    stripe_fake,
    with_bank,
)
