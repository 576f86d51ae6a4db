"""The fake Stripe fixture for these tests."""

from tests.fakes.stripe import stripe_fake  # noqa: F401
