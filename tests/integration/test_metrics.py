from __future__ import annotations

import httpx


async def test_metrics_count_requests_by_route(client: httpx.AsyncClient) -> None:
    await client.get("/health")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert "fynlo_requests_total{" in text
    assert 'path="/health"' in text
    assert "fynlo_request_duration_seconds_bucket{" in text


async def test_metrics_group_ids_into_route_templates(
    client: httpx.AsyncClient, tenant: object
) -> None:
    headers = tenant.headers  # type: ignore[attr-defined]
    await client.get("/api/v1/orders/6d2b1c8e-0f5e-4c55-9d0c-6a5b7a1e2f30", headers=headers)
    text = (await client.get("/metrics")).text
    assert 'path="/api/v1/orders/{order_id}"' in text
    assert "6d2b1c8e-0f5e-4c55-9d0c-6a5b7a1e2f30" not in text
