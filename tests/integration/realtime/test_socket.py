"""``/api/v1/ws`` against a real server: who may listen, what they hear, how sockets end."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from uuid import uuid4

import httpx
import pytest
import pytest_asyncio
from litestar import Litestar

from server.auth.tables import Role
from server.auth.tokens import TokenKind, issue
from server.settings import get_settings
from tests.factories import Ipad, Tenant, make_employee, make_ipad, make_order, sign_in
from tests.integration.realtime.conftest import (
    Server,
    closed_with,
    next_message,
    next_of,
    socket,
)
from tests.integration.sync.test_push_rules import change, device, order_fields, prefix_of, push


@pytest_asyncio.fixture
async def http(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base, timeout=10, trust_env=False) as client:
        yield client


async def an_order_pushed(http: httpx.AsyncClient, ipad: Ipad) -> None:
    prefix = await prefix_of(ipad)
    response = await push(http, ipad, [change(ipad, 1, "order", uuid4(), order_fields(prefix, 1))])
    assert response.status_code == 200, response.text


async def test_a_socket_without_auth_is_closed(server: Server) -> None:
    async with socket(server) as ws:
        assert await closed_with(ws) == 4401  # nothing sent within realtime_auth_seconds


@pytest.mark.parametrize("token", ["not-a-token", ""])
async def test_a_bad_token_is_closed(server: Server, token: str) -> None:
    async with socket(server) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        assert await closed_with(ws) == 4401


async def test_a_first_frame_that_is_not_auth_is_closed(server: Server) -> None:
    async with socket(server) as ws:
        await ws.send(json.dumps({"type": "pong"}))
        assert await closed_with(ws) == 4401


async def test_an_ipad_hears_its_location_pull_now(
    app: Litestar, server: Server, http: httpx.AsyncClient, tenant: Tenant
) -> None:
    listener, writer = (
        await make_ipad(app, tenant, signed_in=Role.manager),
        await make_ipad(app, tenant, signed_in=Role.manager, name="Till 2"),
    )
    async with socket(server, listener.access_token) as ws:
        await an_order_pushed(http, writer)
        poke = await next_of(ws, "sync.poke")
        assert poke == {
            "type": "sync.poke",
            "restaurant_id": str(tenant.restaurant_id),
            "location_id": str(tenant.location_id),
        }


async def test_another_restaurant_hears_nothing_of_ours(
    app: Litestar, server: Server, http: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    ours, theirs = (
        await make_ipad(app, tenant, signed_in=Role.manager),
        await make_ipad(app, other_tenant, signed_in=Role.manager),
    )
    async with socket(server, theirs.access_token) as ws:
        await an_order_pushed(http, ours)
        await an_order_pushed(
            http, await make_ipad(app, other_tenant, signed_in=Role.manager, name="Their till 2")
        )
        # Events reach a socket in publish order: the first it hears must be its own.
        poke = await next_of(ws, "sync.poke")
        assert poke["restaurant_id"] == str(other_tenant.restaurant_id)


async def test_another_restaurants_location_is_refused_like_a_missing_one(
    server: Server, tenant: Tenant, other_tenant: Tenant
) -> None:
    codes = []
    for location in (other_tenant.location_id, uuid4()):
        async with socket(server) as ws:
            auth = {"type": "auth", "token": tenant.token, "locations": [str(location)]}
            await ws.send(json.dumps(auth))
            codes.append(await closed_with(ws))
    assert codes == [4403, 4403]
    async with socket(server, tenant.token, locations=[str(tenant.location_id)]) as ws:
        assert ws.state.name == "OPEN"


async def test_managers_see_payments_orders_and_devices_live(
    app: Litestar, server: Server, http: httpx.AsyncClient, tenant: Tenant
) -> None:
    order_id = await make_order(tenant, seq=1)
    async with socket(server, tenant.token) as manager:
        ipad = await make_ipad(app, tenant, signed_in=Role.manager)
        async with socket(server, ipad.access_token):
            online = await next_of(manager, "device.presence")
            assert (online["device_id"], online["online"]) == (str(ipad.device_id), True)
        offline = await next_of(manager, "device.presence")
        assert (offline["device_id"], offline["online"]) == (str(ipad.device_id), False)

        cashier = await sign_in(
            app,
            await make_ipad(app, tenant, signed_in=Role.manager, name="Till 2"),
            await make_employee(tenant, role=Role.cashier),
        )
        paid = await http.post(
            "/api/v1/payments",
            json={"order_id": str(order_id), "method": "cash", "amount": 300, "tendered": 500},
            headers={**cashier.headers, "Idempotency-Key": str(uuid4())},
        )
        assert paid.status_code == 201, paid.text
        payment = await next_of(manager, "payment.status")
        assert (payment["payment_id"], payment["state"]) == (paid.json()["id"], "succeeded")
        order = await next_of(manager, "order.status")
        assert (order["order_id"], order["status"]) == (str(order_id), "paid")


async def test_a_revoked_ipad_is_cut_off_at_once(
    app: Litestar, server: Server, http: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await make_ipad(app, tenant, signed_in=Role.manager)
    async with socket(server, ipad.access_token) as ws:
        revoked = await http.post(
            f"/api/v1/devices/{ipad.device_id}/revoke", headers=tenant.headers
        )
        assert revoked.status_code == 200, revoked.text
        assert await closed_with(ws) == 4403


async def test_expired_tokens_close_the_socket(
    app: Litestar, server: Server, tenant: Tenant
) -> None:
    short = issue(
        app.state.signing_keys,
        TokenKind.access,
        subject=tenant.user_id,
        restaurant_id=tenant.restaurant_id,
        issuer=get_settings().jwt_issuer,
        ttl=2,
        role=Role.owner.value,
    )
    async with socket(server, short) as ws:
        assert await closed_with(ws) == 4401


async def test_heartbeats_keep_an_answering_client_and_drop_a_silent_one(
    server: Server, tenant: Tenant
) -> None:
    async with socket(server, tenant.token) as answering:
        for _ in range(3):  # three heartbeats (1 s apart here), each answered
            ping = await next_message(answering, skip_pings=False)
            assert ping["type"] == "ping"
            await answering.send(json.dumps({"type": "pong"}))
        assert answering.state.name == "OPEN"
    async with socket(server, tenant.token) as silent:
        assert await closed_with(silent) == 4408


async def test_a_client_that_reconnects_pulls_what_it_missed(
    app: Litestar, server: Server, http: httpx.AsyncClient, tenant: Tenant
) -> None:
    """The poke only says "pull now": the cursor, not the socket, is what misses nothing."""
    reader, writer = (
        await make_ipad(app, tenant, signed_in=Role.manager),
        await make_ipad(app, tenant, signed_in=Role.manager, name="Till 2"),
    )
    params = {"schema_version": 1, "app_version": "1.0.0"}
    first = await http.get("/api/v1/sync/pull", params=params, headers=reader.headers)
    cursor = first.json()["cursor"]
    await an_order_pushed(http, writer)  # while the reader had no socket
    async with socket(server, reader.access_token):
        missed = await http.get(
            "/api/v1/sync/pull", params={**params, "cursor": cursor}, headers=reader.headers
        )
    assert [c["entity_type"] for c in missed.json()["changes"]] == ["order"]


async def test_managers_hear_ipads_close_orders_and_the_conflict_it_logs(
    app: Litestar, server: Server, http: httpx.AsyncClient, tenant: Tenant
) -> None:
    till_ipad, bar_ipad = (
        await make_ipad(app, tenant, signed_in=Role.manager),
        await make_ipad(app, tenant, signed_in=Role.manager, name="Bar"),
    )
    till, bar = await device(http, till_ipad), await device(http, bar_ipad)
    order_id = till.open_order()
    assert await till.sync() and await bar.sync()
    async with socket(server, tenant.token) as manager:
        bar.edit("order", order_id, {"status": "voided"})
        till.edit("order", order_id, {"status": "paid"})
        assert await till.sync() and await bar.sync()
        heard = [await next_message(manager) for _ in range(3)]
    about_order = [
        (m["type"], m.get("status") or m.get("rule"))
        for m in heard
        if m.get("order_id", m.get("entity_id")) == str(order_id)
    ]
    # Till's payment, then Bar's offline void: paid stands and the merge is logged.
    assert about_order == [("order.status", "paid"), ("sync.conflict", "state_rank")]


async def test_an_ipad_with_two_sockets_stays_online_until_the_last_closes(
    app: Litestar, server: Server, tenant: Tenant
) -> None:
    """A reconnect can open the new socket before the old one is noticed gone."""
    ipad, marker = (
        await make_ipad(app, tenant, signed_in=Role.manager),
        await make_ipad(app, tenant, signed_in=Role.manager, name="Marker"),
    )
    async with socket(server, tenant.token) as manager:
        async with socket(server, ipad.access_token):
            assert (await next_of(manager, "device.presence"))["online"] is True
            async with socket(server, ipad.access_token):
                pass  # the second socket comes and goes while the first stays
            async with socket(server, marker.access_token):
                # Presence arrives in order: the next one must be the marker's, not an
                # "offline" for the iPad whose first socket is still open.
                after = await next_of(manager, "device.presence")
                assert (after["device_id"], after["online"]) == (str(marker.device_id), True)
        gone = [await next_of(manager, "device.presence") for _ in range(2)]
        assert {(p["device_id"], p["online"]) for p in gone} == {
            (str(marker.device_id), False),
            (str(ipad.device_id), False),
        }
