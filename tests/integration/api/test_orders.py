"""Reading orders over /api/v1: newest first, filters, keyset pages and priced detail."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from server.settings import get_settings
from tests.factories import Tenant, make_order
from tests.problems import PROBLEM, assert_problem

NOON = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def listed(client: httpx.AsyncClient, tenant: Tenant, **params: Any) -> list[str]:
    """The ids of one page of orders (which must be the only page)."""
    response = await client.get("/api/v1/orders", params=params, headers=tenant.headers)
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    return [order["id"] for order in response.json()["items"]]


def cursor_of(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def test_orders_newest_first(client: httpx.AsyncClient, tenant: Tenant) -> None:
    oldest = await make_order(tenant, seq=1, opened_at=NOON - timedelta(hours=2))
    newest = await make_order(tenant, seq=2, opened_at=NOON)
    middle = await make_order(
        tenant, seq=3, opened_at=NOON - timedelta(hours=1), lines=[("Burger", 1250, 2, 2000)]
    )
    response = await client.get("/api/v1/orders", headers=tenant.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["next_cursor"] is None
    assert [order["id"] for order in body["items"]] == [str(newest), str(middle), str(oldest)]
    summary = body["items"][1]
    assert summary["number"] == "T-0003"
    assert summary["location_id"] == str(tenant.location_id)
    assert summary["table_id"] is None
    assert summary["status"] == "open"
    assert summary["currency"] == "GBP"
    assert summary["total_due"] == 2500
    assert summary["closed_at"] is None
    assert datetime.fromisoformat(summary["opened_at"]) == NOON - timedelta(hours=1)
    assert "lines" not in summary


async def test_order_filters(client: httpx.AsyncClient, tenant: Tenant) -> None:
    headers = tenant.headers
    patio = (await client.post("/api/v1/locations", json={"name": "Patio"}, headers=headers)).json()
    table = (
        await client.post(
            "/api/v1/tables",
            json={"location_id": str(tenant.location_id), "name": "7"},
            headers=headers,
        )
    ).json()
    at_table = await make_order(tenant, seq=1, opened_at=NOON, table_id=UUID(table["id"]))
    paid = await make_order(
        tenant, seq=2, opened_at=NOON - timedelta(minutes=10), status="paid", closed_at=NOON
    )
    on_patio = await make_order(
        tenant, seq=3, opened_at=NOON - timedelta(minutes=20), location_id=UUID(patio["id"])
    )
    paid_on_patio = await make_order(
        tenant,
        seq=4,
        opened_at=NOON - timedelta(minutes=30),
        location_id=UUID(patio["id"]),
        status="paid",
    )

    assert await listed(client, tenant, location_id=patio["id"]) == [
        str(on_patio),
        str(paid_on_patio),
    ]
    assert await listed(client, tenant, location_id=str(tenant.location_id)) == [
        str(at_table),
        str(paid),
    ]
    assert await listed(client, tenant, table_id=table["id"]) == [str(at_table)]
    assert await listed(client, tenant, status="paid") == [str(paid), str(paid_on_patio)]
    assert await listed(client, tenant, status="voided") == []
    assert await listed(client, tenant, status="paid", location_id=patio["id"]) == [
        str(paid_on_patio)
    ]
    assert await listed(client, tenant, table_id=str(uuid4())) == []


async def test_opened_window_is_inclusive_then_exclusive(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    times = [
        NOON - timedelta(minutes=1),
        NOON,
        NOON + timedelta(minutes=1),
        NOON + timedelta(hours=1),
    ]
    ids = [str(await make_order(tenant, seq=i + 1, opened_at=at)) for i, at in enumerate(times)]
    before, at_noon, after, later = ids
    window = {"opened_from": NOON.isoformat(), "opened_to": (NOON + timedelta(hours=1)).isoformat()}
    assert await listed(client, tenant, **window) == [after, at_noon]
    assert await listed(client, tenant, opened_from=NOON.isoformat()) == [later, after, at_noon]
    assert await listed(client, tenant, opened_to=NOON.isoformat()) == [before]
    # The same instant written in another offset is the same bound.
    assert await listed(client, tenant, opened_from="2026-03-01T13:00:00+01:00") == [
        later,
        after,
        at_noon,
    ]
    assert (
        await listed(
            client, tenant, opened_from="2026-03-01T12:00:00Z", opened_to="2026-03-01T12:00:00Z"
        )
        == []
    )


async def test_keyset_pages_cover_every_order_once(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    # Groups of three orders share an opened_at, so pages must break ties by id.
    orders = []
    for i in range(25):
        opened_at = NOON - timedelta(minutes=i // 3)
        orders.append((opened_at, await make_order(tenant, seq=i + 1, opened_at=opened_at)))
    expected = [str(order_id) for _, order_id in sorted(orders, reverse=True)]

    seen: list[str] = []
    sizes: list[int] = []
    cursor: str | None = None
    for _ in range(10):
        params: dict[str, Any] = {"limit": 7}
        if cursor is not None:
            params["cursor"] = cursor
        response = await client.get("/api/v1/orders", params=params, headers=tenant.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        seen += [order["id"] for order in page["items"]]
        sizes.append(len(page["items"]))
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sizes == [7, 7, 7, 4]
    assert seen == expected
    assert len(set(seen)) == 25


async def test_a_page_that_ends_exactly_has_no_next_cursor(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    for seq in range(1, 5):
        await make_order(tenant, seq=seq, opened_at=NOON)
    first = await client.get("/api/v1/orders", params={"limit": 2}, headers=tenant.headers)
    second = await client.get(
        "/api/v1/orders",
        params={"limit": 2, "cursor": first.json()["next_cursor"]},
        headers=tenant.headers,
    )
    assert second.status_code == 200, second.text
    assert len(second.json()["items"]) == 2
    assert second.json()["next_cursor"] is None
    assert {o["id"] for o in first.json()["items"]}.isdisjoint(
        {o["id"] for o in second.json()["items"]}
    )


async def test_limit_bounds(client: httpx.AsyncClient, tenant: Tenant) -> None:
    page_size_max = get_settings().page_size_max
    assert page_size_max == 200
    await make_order(tenant, seq=1)
    for limit in (0, -1, page_size_max + 1):
        response = await client.get(
            "/api/v1/orders", params={"limit": limit}, headers=tenant.headers
        )
        assert_problem(response, 400, "validation_failed", "limit")
    largest = await client.get(
        "/api/v1/orders", params={"limit": page_size_max}, headers=tenant.headers
    )
    assert largest.status_code == 200, largest.text
    assert len(largest.json()["items"]) == 1
    not_a_number = await client.get(
        "/api/v1/orders", params={"limit": "seven"}, headers=tenant.headers
    )
    assert_problem(not_a_number, 400, "validation_failed", "limit")


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "!!!!",
        "ü",
        cursor_of(b"[1, 2]"),
        cursor_of(b'["yesterday", "not-a-uuid"]'),
        cursor_of(b'{"at": "2026-03-01T12:00:00Z"}'),
    ],
)
async def test_garbage_cursor(client: httpx.AsyncClient, tenant: Tenant, cursor: str) -> None:
    response = await client.get("/api/v1/orders", params={"cursor": cursor}, headers=tenant.headers)
    assert_problem(response, 400, "validation_failed", "cursor")


async def test_bad_filters(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for params, field in [
        ({"status": "lost"}, "status"),
        ({"location_id": "main"}, "location_id"),
        ({"opened_from": "last tuesday"}, "opened_from"),
    ]:
        response = await client.get("/api/v1/orders", params=params, headers=tenant.headers)
        assert_problem(response, 400, "validation_failed", field)


async def test_order_detail_is_priced(client: httpx.AsyncClient, tenant: Tenant) -> None:
    order_id = await make_order(
        tenant,
        seq=42,
        opened_at=NOON,
        lines=[
            ("Burger", 1250, 2, 2000),
            ("Wine", 795, 1, 2000),
            ("Newspaper", 180, 1, 0),
        ],
        service_charge_bp=1250,
        tip=500,
        covers=2,
        notes="window seat",
    )
    response = await client.get(f"/api/v1/orders/{order_id}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    order = response.json()
    assert order["id"] == str(order_id)
    assert order["number"] == "T-0042"
    assert (order["covers"], order["notes"]) == (2, "window seat")
    assert [(line["name"], line["quantity"], line["total"]) for line in order["lines"]] == [
        ("Burger", 2, 2500),
        ("Wine", 1, 795),
        ("Newspaper", 1, 180),
    ]
    assert order["lines"][0]["unit_price"] == 1250
    assert order["lines"][2]["vat_rate_bp"] == 0
    assert all(line["modifiers"] == [] and line["discount"] is None for line in order["lines"])
    # 20% bucket: 2500 + 795 = 3295 gross, VAT 3295 x 2000 / 12000 = 549.17 -> 549.
    assert order["vat"] == [
        {"rate_bp": 0, "gross": 180, "vat": 0, "net": 180},
        {"rate_bp": 2000, "gross": 3295, "vat": 549, "net": 2746},
    ]
    assert order["subtotal"] == 3475
    assert order["discount"] is None
    assert order["discount_total"] == 0
    assert order["vat_total"] == 549
    assert order["service_charge_bp"] == 1250
    # 12.5% of 3475 = 434.375 -> 434, outside VAT; the tip is added last.
    assert order["service_charge"] == 434
    assert order["tip"] == 500
    assert order["total_due"] == 3475 + 434 + 500


async def test_order_discount_is_shared_across_lines(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    order_id = await make_order(
        tenant,
        seq=43,
        lines=[("Burger", 1250, 2, 2000), ("Wine", 795, 1, 2000), ("Newspaper", 180, 1, 0)],
        discount_kind="fixed",
        discount_value=300,
        discount_reason="regular",
        service_charge_bp=1250,
        tip=500,
    )
    response = await client.get(f"/api/v1/orders/{order_id}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    order = response.json()
    # 300p shared by 2500:795:180 is 215.83, 68.63, 15.54: the two spare pence go to the
    # largest remainders, so the shares are 216, 69 and 15.
    assert [line["total"] for line in order["lines"]] == [2284, 726, 165]
    assert order["discount"] == {"kind": "fixed", "value": 300}
    assert order["discount_reason"] == "regular"
    assert order["subtotal"] == 3475
    assert order["discount_total"] == 300
    # 20% bucket: 2284 + 726 = 3010, VAT 501.67 -> 502.
    assert order["vat"] == [
        {"rate_bp": 0, "gross": 165, "vat": 0, "net": 165},
        {"rate_bp": 2000, "gross": 3010, "vat": 502, "net": 2508},
    ]
    assert order["vat_total"] == 502
    # 12.5% of 3175 = 396.875 -> 397.
    assert order["service_charge"] == 397
    assert order["total_due"] == 3175 + 397 + 500

    listed_order = (await client.get("/api/v1/orders", headers=tenant.headers)).json()["items"]
    assert [(o["id"], o["total_due"]) for o in listed_order] == [(str(order_id), 4072)]


async def test_missing_order(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.get(f"/api/v1/orders/{uuid4()}", headers=tenant.headers)
    assert_problem(response, 404, "not_found", None)
    response = await client.get("/api/v1/orders/not-a-uuid", headers=tenant.headers)
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
