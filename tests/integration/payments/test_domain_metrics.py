"""``/metrics`` carries the domain's numbers an operator graphs (``server.domain_metrics``)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx

from server.payments.reconcile import reconcile
from tests.factories import Tenant, make_order
from tests.integration.payments.api import cash

CASH_PAID = 'fynlo_payments_last_day{method="cash",state="succeeded"}'


def value(text: str, series: str) -> float:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_the_domain_gauges_are_read_when_scraped(
    client: httpx.AsyncClient, tenant: Tenant, cash_only: object
) -> None:
    before = (await client.get("/metrics")).text
    order_id = await make_order(tenant, seq=1)
    assert (await cash(client, tenant.headers, order_id, 300)).status_code == 201
    now = datetime.now(UTC)
    await reconcile(now - timedelta(days=1), now, restaurant_id=tenant.restaurant_id)
    text = (await client.get("/metrics")).text
    assert value(text, CASH_PAID) - value(before, CASH_PAID) == 1
    assert 'fynlo_provider_circuit_open{provider="cash"} 0.0' in text
    assert "fynlo_sockets_open 0.0" in text
    assert "fynlo_devices_online 0.0" in text
    # The run just made is the last one: balanced, so no provider's net differs.
    assert value(text, 'fynlo_reconcile_findings{kind="net_mismatch"}') == 0
    ran = value(text, "fynlo_reconcile_last_run_timestamp_seconds")
    assert time.time() - 60 < ran <= time.time() + 1
