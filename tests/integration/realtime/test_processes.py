"""Across processes: Redis carries events between servers; a shutdown says 1001."""

from __future__ import annotations

import signal
from uuid import uuid4

import httpx
from litestar import Litestar

from server.settings import Settings
from tests.e2e.processes import stop
from tests.factories import Tenant, make_ipad
from tests.integration.realtime.conftest import closed_with, next_of, serve, socket
from tests.integration.sync.test_push_rules import change, order_fields, prefix_of, push


async def test_an_event_on_one_server_reaches_a_socket_on_another(
    app: Litestar, settings: Settings, redis_url: str, tenant: Tenant
) -> None:
    one = serve(settings, FYNLO_REDIS_URL=redis_url)
    two = serve(settings, FYNLO_REDIS_URL=redis_url)
    try:
        listener, writer = await make_ipad(app, tenant), await make_ipad(app, tenant, name="Till 2")
        async with socket(one, listener.access_token) as ws:
            async with httpx.AsyncClient(base_url=two.base, timeout=10, trust_env=False) as http:
                prefix = await prefix_of(writer)
                pushed = await push(
                    http, writer, [change(writer, 1, "order", uuid4(), order_fields(prefix, 1))]
                )
                assert pushed.status_code == 200, pushed.text
            poke = await next_of(ws, "sync.poke")
            assert poke["location_id"] == str(tenant.location_id)
    finally:
        stop(one.process)
        stop(two.process)


async def test_a_shutdown_closes_sockets_with_going_away(
    app: Litestar, settings: Settings, tenant: Tenant
) -> None:
    server = serve(settings)
    try:
        ipad = await make_ipad(app, tenant)
        async with (
            socket(server, ipad.access_token) as device,
            socket(server, tenant.token) as office,
        ):
            server.process.send_signal(signal.SIGTERM)
            assert await closed_with(device) == 1001
            assert await closed_with(office) == 1001
    finally:
        code, output = stop(server.process)
    assert code == 0, output
