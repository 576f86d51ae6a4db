from __future__ import annotations

import httpx
from litestar import Litestar

from server.auth.tables import Role
from tests.factories import Tenant, make_employee, make_ipad, sign_in


async def test_an_ipad_with_a_server_signed_in_reads_orders(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await make_ipad(app, tenant)
    bare = await client.get("/api/v1/orders", headers=ipad.headers)
    assert bare.status_code == 403, bare.text
    server = await sign_in(app, ipad, await make_employee(tenant, role=Role.server))
    response = await client.get("/api/v1/orders", headers=server.headers)
    assert response.status_code == 200, response.text
