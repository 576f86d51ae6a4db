"""Sign-in, refresh and PIN fail closed while the rate-limit store does not answer (F4):
Redis down (refused at once) and black-holed (accepts, never answers), through the fault
proxy in front of the session's real ``redis-server``. A black hole must not hang a
sign-in: it answers 503 within the Redis timeout. Once Redis is back, the same
credentials work, so the refusal spent nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

import httpx
import pytest
import pytest_asyncio
from litestar import Litestar

from server.auth.ratelimit import RateLimiter
from server.auth.tables import Role
from tests.factories import DEFAULT_PIN, Tenant, make_employee, make_ipad
from tests.fault_proxy import FaultProxy, fault_proxy

TIMEOUT = 1.0
DEADLINE_SECONDS = TIMEOUT + 1
"""The limiter's deadline for one count, and a generous second for the rest of a request."""


@pytest.fixture(scope="module")
def proxy(redis_url: str) -> Iterator[FaultProxy]:
    port = urlsplit(redis_url).port
    assert port is not None
    with fault_proxy(port) as running:
        yield running


@pytest_asyncio.fixture
async def limiter_behind_proxy(app: Litestar, proxy: FaultProxy) -> AsyncIterator[RateLimiter]:
    """The app counts its limits in Redis through the proxy for this test."""
    previous = app.state.limiter
    limiter = RateLimiter(f"redis://127.0.0.1:{proxy.port}/0", timeout=TIMEOUT)
    app.state.limiter = limiter
    try:
        yield limiter
    finally:
        proxy.healthy()
        app.state.limiter = previous
        await limiter.aclose()


async def refused_in_time(client: httpx.AsyncClient, path: str, **request: object) -> None:
    started = time.monotonic()
    async with asyncio.timeout(10 * DEADLINE_SECONDS):  # a hang fails, not stalls, the test
        response = await client.post(path, **request)  # type: ignore[arg-type]
    elapsed = time.monotonic() - started
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "dependency_unavailable"
    assert response.json()["dependency"] == "redis"
    assert int(response.headers["Retry-After"]) > 0
    assert elapsed < DEADLINE_SECONDS, f"{elapsed:.1f} s"


@pytest.mark.usefixtures("limiter_behind_proxy")
@pytest.mark.parametrize("fault", ["down", "blackhole"])
async def test_sign_in_refresh_and_pin_fail_closed_without_hanging(
    app: Litestar, client: httpx.AsyncClient, proxy: FaultProxy, tenant: Tenant, fault: str
) -> None:
    ipad = await make_ipad(app, tenant)
    employee = await make_employee(tenant, role=Role.server)
    pin = {"employee_id": str(employee), "pin": DEFAULT_PIN}
    refresh = {"refresh_token": ipad.refresh_token}
    getattr(proxy, fault)()

    login = {"email": f"{tenant.user_id.hex}@test.fynlo.app", "password": "whatever it is"}
    await refused_in_time(client, "/api/v1/auth/login", json=login)
    await refused_in_time(client, "/api/v1/auth/refresh", json=refresh)
    await refused_in_time(client, "/api/v1/auth/pin", json=pin, headers=ipad.headers)

    proxy.healthy()
    refreshed = await client.post("/api/v1/auth/refresh", json=refresh)
    assert refreshed.status_code == 200, refreshed.text
    signed_in = await client.post("/api/v1/auth/pin", json=pin, headers=ipad.headers)
    assert signed_in.status_code == 200, signed_in.text
