"""The open banking sandbox fixture for these tests."""

from tests.fakes.open_banking import open_banking_sandbox  # noqa: F401
