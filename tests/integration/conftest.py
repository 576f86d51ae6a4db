"""Integration tests share one app; each starts with empty rate-limit counters."""

from __future__ import annotations

import pytest
from litestar import Litestar

from server.auth.ratelimit import RateLimiter


@pytest.fixture(autouse=True)
def fresh_rate_limits(request: pytest.FixtureRequest) -> None:
    """Counts from one test must not throttle the next (each test is its own user)."""
    if "app" in request.fixturenames or "client" in request.fixturenames:
        app: Litestar = request.getfixturevalue("app")
        app.state.limiter = RateLimiter()
