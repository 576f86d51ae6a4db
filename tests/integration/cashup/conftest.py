"""Cash-up tests: cash refunds go through the payments gateway, with cash its only provider."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from server.payments import gateway
from server.payments.gateway import Gateway
from server.payments.providers.cash import CashProvider


@pytest.fixture
def cash_only() -> Iterator[Gateway]:
    installed = Gateway({"cash": CashProvider()}, failure_threshold=5, reset_seconds=30)
    gateway.install(installed)
    yield installed
    gateway.install(None)
