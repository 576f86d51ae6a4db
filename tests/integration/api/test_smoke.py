from __future__ import annotations

import httpx

from tests.factories import Tenant, make_order


async def test_health_and_ready(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    assert (await client.get("/ready")).json() == {"status": "ready"}


async def test_order_is_read_with_totals(client: httpx.AsyncClient, tenant: Tenant) -> None:
    order_id = await make_order(tenant, seq=1, lines=[("Burger", 1200, 2, 2000)])
    response = await client.get(f"/api/v1/orders/{order_id}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total_due"] == 2400
    assert body["vat"] == [{"rate_bp": 2000, "gross": 2400, "vat": 400, "net": 2000}]
