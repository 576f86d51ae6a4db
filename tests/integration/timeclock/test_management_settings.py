"""The clock rules: the defaults until set, bounded as the table is, synced to the iPads as one
``time_clock_settings`` entity per restaurant, and audited."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from litestar import Litestar

from server.db import engine
from server.timeclock.services import Settings, load_settings
from tests.factories import Tenant, make_ipad
from tests.integration.timeclock.management_fixtures import SETTINGS, ok, pulled
from tests.problems import assert_problem

RULES: dict[str, Any] = {
    "auto_close_after_minutes": 720,
    "early_clock_in_minutes": 10,
    "late_after_minutes": 3,
    "weekly_overtime_minutes": 2400,
    "day_starts_at": "05:30",
    "tip_pooling": "by_hours",
}


async def test_a_restaurant_that_never_set_them_reads_the_defaults(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    defaults = Settings()
    assert await ok(await client.get(SETTINGS, headers=tenant.headers)) == {
        "auto_close_after_minutes": defaults.auto_close_after_minutes,
        "early_clock_in_minutes": defaults.early_clock_in_minutes,
        "late_after_minutes": defaults.late_after_minutes,
        "weekly_overtime_minutes": defaults.weekly_overtime_minutes,
        "day_starts_at": "04:00",
        "tip_pooling": "none",
        "updated_at": None,
    }


async def test_set_rules_are_read_back_used_by_the_server_synced_and_audited(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    ipad = await make_ipad(app, tenant)
    saved = await ok(await client.put(SETTINGS, json=RULES, headers=tenant.headers))
    assert {k: v for k, v in saved.items() if k != "updated_at"} == RULES
    assert saved["updated_at"] is not None
    assert await ok(await client.get(SETTINGS, headers=tenant.headers)) == saved

    async with engine.connection() as conn:
        used = await load_settings(conn, tenant.restaurant_id)
    assert (used.auto_close_after_minutes, used.day_starts_at.isoformat(), used.tip_pooling) == (
        720,
        "05:30:00",
        "by_hours",
    )

    state = await pulled(client, ipad, "time_clock_settings", tenant.restaurant_id)
    assert state is not None and state["location_id"] is None
    assert state["data"] == RULES

    entries = await ok(await client.get("/api/v1/audit", headers=tenant.headers))
    [entry] = [e for e in entries["items"] if e["action"] == "timeclock.settings_set"]
    assert entry["details"]["was"]["auto_close_after_minutes"] == 960
    assert entry["details"]["auto_close_after_minutes"] == 720

    # Another restaurant still runs on the defaults.
    theirs = await ok(await client.get(SETTINGS, headers=other_tenant.headers))
    assert theirs["auto_close_after_minutes"] == 960 and theirs["updated_at"] is None


async def test_setting_them_again_replaces_them_everywhere(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await make_ipad(app, tenant)
    await ok(await client.put(SETTINGS, json=RULES, headers=tenant.headers))
    again = RULES | {"early_clock_in_minutes": 0, "tip_pooling": "none"}
    await ok(await client.put(SETTINGS, json=again, headers=tenant.headers))
    read = await ok(await client.get(SETTINGS, headers=tenant.headers))
    assert read["early_clock_in_minutes"] == 0 and read["tip_pooling"] == "none"
    state = await pulled(client, ipad, "time_clock_settings", tenant.restaurant_id)
    assert state is not None and state["data"] == again


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("auto_close_after_minutes", 59),
        ("auto_close_after_minutes", 2881),
        ("early_clock_in_minutes", -1),
        ("early_clock_in_minutes", 241),
        ("late_after_minutes", 241),
        ("weekly_overtime_minutes", 59),
        ("weekly_overtime_minutes", 10081),
        ("day_starts_at", "24:00"),
        ("day_starts_at", "4:00"),
        ("day_starts_at", "04:00:30"),
        ("tip_pooling", "by_sales"),
        ("late_after_minutes", 5.5),
    ],
)
async def test_a_rule_out_of_bounds_is_refused_naming_it_and_nothing_changes(
    client: httpx.AsyncClient, tenant: Tenant, field: str, value: object
) -> None:
    response = await client.put(SETTINGS, json=RULES | {field: value}, headers=tenant.headers)
    assert_problem(response, 400, "validation_failed", field=field)
    assert (await ok(await client.get(SETTINGS, headers=tenant.headers)))["updated_at"] is None


@pytest.mark.parametrize("value", [60, 2880], ids=["least", "most"])
async def test_the_bounds_themselves_are_allowed(
    client: httpx.AsyncClient, tenant: Tenant, value: int
) -> None:
    body = RULES | {"auto_close_after_minutes": value}
    saved = await ok(await client.put(SETTINGS, json=body, headers=tenant.headers))
    assert saved["auto_close_after_minutes"] == value


async def test_every_rule_is_sent_at_once(client: httpx.AsyncClient, tenant: Tenant) -> None:
    partial = {k: v for k, v in RULES.items() if k != "late_after_minutes"}
    response = await client.put(SETTINGS, json=partial, headers=tenant.headers)
    assert_problem(response, 400, "validation_failed", field="late_after_minutes")
