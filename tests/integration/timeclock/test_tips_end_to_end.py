"""From the iPads to the reports: a shift clocked in on one iPad and out on another, a cash
sale with a tip, all pushed through sync, then reported as hours, pay, sales and tips."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import uuid4

import httpx
from litestar import Litestar

from server.auth.tables import Role
from tests.factories import Ipad, Tenant, make_ipad, make_order, offline_sign_in
from tests.integration.sync.test_push_rules import change, push
from tests.integration.timeclock.report_fixtures import (
    clock_rules,
    job_role,
    payment,
    report_json,
    wage,
)

THURSDAY = date(2026, 11, 26)  # GMT: UTC and London agree


def at(hour: int, minute: int = 0) -> str:
    return datetime(2026, 11, 26, hour, minute, tzinfo=UTC).isoformat()


async def test_punches_and_cash_from_two_ipads_add_up_in_both_reports(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await clock_rules(tenant, tip_pooling="by_hours")
    front = await make_ipad(app, tenant, signed_in=Role.cashier)
    bar = await make_ipad(app, tenant, name="Bar")
    cashier = tenant.staff[Role.cashier]
    bar.signed_in = await offline_sign_in(bar, cashier)
    till = await job_role(tenant, "Till")
    await wage(tenant, cashier, till, 1000, date(2026, 1, 1))

    def punch(ipad: Ipad, seq: int, kind: str, when: str, **more: object) -> dict[str, Any]:
        fields = {"employee_id": str(cashier), "device_id": str(ipad.device_id), **more}
        return change(ipad, seq, "time_punch", uuid4(), fields | {"kind": kind, "at": when})

    order_id = await make_order(
        tenant, seq=1, lines=[("Tea", 300, 1, 2000)], opened_at=datetime.fromisoformat(at(12))
    )
    cash = {
        "order_id": str(order_id),
        "amount": 300,
        "tip": 120,
        "tendered": 500,
        "currency": "GBP",
        "taken_at": at(12, 5),
    }
    on_front = [
        punch(front, 1, "clock_in", at(11)),
        change(front, 2, "cash_payment", uuid4(), cash),
        punch(front, 3, "break_start", at(13)),
    ]
    on_bar = [
        punch(bar, 1, "break_end", at(13, 30)),
        punch(bar, 2, "clock_out", at(17), declared_tips=300),
    ]
    for ipad, changes in ((bar, on_bar), (front, on_front)):  # the later iPad syncs first
        response = await push(client, ipad, changes)
        outcomes = [(r["outcome"], r.get("detail")) for r in response.json()["results"]]
        assert {outcome for outcome, _ in outcomes} == {"applied"}, outcomes
    # A card tip nobody was signed in for goes into the day's pool, all of it to the one
    # person who worked.
    await payment(
        tenant, order_id, method="card", tip=501, at=datetime.fromisoformat(at(14)), employee=None
    )

    labour = await report_json(client, tenant.headers, "labour", THURSDAY, THURSDAY)
    # 11:00 to 17:00 less 30 minutes unpaid: 19800 s at 10.00/h = 5500. Tea 300 less VAT 50
    # (300 x 2000 / 12000): 250 net; 5500 / 250 = 2200% -> 220000 bp.
    assert {
        key: labour["totals"][key]
        for key in ("shifts", "paid_seconds", "unpaid_break_seconds", "labour_cost", "net_sales")
    } == {
        "shifts": 1,
        "paid_seconds": 19800,
        "unpaid_break_seconds": 1800,
        "labour_cost": 5500,
        "net_sales": 250,
    }
    assert labour["totals"]["labour_bp"] == 220000
    assert [role["job_role"] for role in labour["roles"]] == ["Till"]

    tips = await report_json(client, tenant.headers, "tips", THURSDAY, THURSDAY)
    [person] = tips["employees"]
    assert person | {"employee": None} == {
        "employee_id": str(cashier),
        "employee": None,
        "paid_seconds": 19800,
        "card_tips": 501,
        "cash_tips": 120,
        "declared_tips": 300,
        "total": 921,
    }
