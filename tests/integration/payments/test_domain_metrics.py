"""``/metrics`` carries the domain's numbers an operator graphs (``server.domain_metrics``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from server.payments.reconcile import reconcile
from tests.factories import Tenant, make_order
from tests.integration.payments.api import cash


async def test_the_domain_gauges_are_read_when_scraped(
    client: httpx.AsyncClient, tenant: Tenant, cash_only: object
) -> None:
    order_id = await make_order(tenant, seq=1)
    assert (await cash(client, tenant.headers, order_id, 300)).status_code == 201
    now = datetime.now(UTC)
    await reconcile(now - timedelta(days=1), now)
    text = (await client.get("/metrics")).text
    assert 'fynlo_payments_last_day{method="cash",state="succeeded"} 1.0' in text
    assert 'fynlo_provider_circuit_open{provider="cash"} 0.0' in text
    assert "fynlo_sockets_open 0.0" in text
    assert "fynlo_devices_online 0.0" in text
    assert 'fynlo_reconcile_findings{kind="net_mismatch"} 0.0' in text
    assert "fynlo_reconcile_last_run_timestamp_seconds " in text
