from __future__ import annotations

from uuid import uuid4

import httpx
from litestar import Litestar

from tests.factories import Tenant, make_ipad
from tests.integration.sync.test_push_rules import change, order_fields, prefix_of, push


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


def _value(text: str, series: str) -> float:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_sync_pushes_and_changes_are_counted_by_outcome(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    applied = 'fynlo_sync_changes_total{outcome="applied"}'
    duplicate = 'fynlo_sync_changes_total{outcome="duplicate"}'
    accepted = 'fynlo_sync_pushes_total{outcome="accepted"}'
    refused = 'fynlo_sync_pushes_total{outcome="refused"}'
    before = (await client.get("/metrics")).text
    ipad = await make_ipad(app, tenant)
    opened = [change(ipad, 1, "order", uuid4(), order_fields(await prefix_of(ipad), 1))]
    batch = uuid4()
    assert (await push(client, ipad, opened, batch_id=batch)).status_code == 200
    assert (await push(client, ipad, opened, batch_id=batch)).status_code == 200  # resent
    gap = [change(ipad, 9, "order", uuid4(), order_fields(await prefix_of(ipad), 2))]
    assert (await push(client, ipad, gap)).status_code == 409
    after = (await client.get("/metrics")).text
    assert _value(after, applied) - _value(before, applied) == 1
    assert _value(after, duplicate) - _value(before, duplicate) == 1
    assert _value(after, accepted) - _value(before, accepted) == 2
    assert _value(after, refused) - _value(before, refused) == 1
