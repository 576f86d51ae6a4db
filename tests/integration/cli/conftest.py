"""The payment fakes of the payments tests (a fresh fake Stripe and pay-by-bank sandbox per
test) and their invariants, for the commands that reconcile against them."""

from tests.fakes.open_banking import open_banking_sandbox  # noqa: F401
from tests.fakes.stripe import stripe_fake  # noqa: F401
from tests.integration.payments.conftest import money_invariants, with_bank  # noqa: F401
