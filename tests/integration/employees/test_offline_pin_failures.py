"""Wrong PINs typed on an iPad while it was offline are reported when it reconnects
(``POST /api/v1/employees/offline-pin-failures``): counted into that iPad's wrong-PIN waits
as online failures are, audited, once per report id (docs/security.md, "Offline sign-in and
approvals")."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from litestar import Litestar

from server.audit.tables import AuditEntry
from server.auth.tables import Role
from tests.factories import DEFAULT_PIN, Ipad, Tenant, make_employee, make_ipad, make_tenant
from tests.problems import assert_problem

REPORT = "/api/v1/employees/offline-pin-failures"


def _entry(employee_id: UUID, failures: int = 5, **extra: Any) -> dict[str, Any]:
    return {
        "employee_id": str(employee_id),
        "failures": failures,
        "first_at": "2026-12-05T09:00:00Z",
        "last_at": "2026-12-05T09:04:00Z",
    } | extra


async def _report(
    client: httpx.AsyncClient, ipad: Ipad, *entries: dict[str, Any], report_id: UUID | None = None
) -> httpx.Response:
    body = {"report_id": str(report_id or uuid4()), "employees": list(entries)}
    return await client.post(REPORT, json=body, headers=ipad.headers)


async def _pin(client: httpx.AsyncClient, ipad: Ipad, employee_id: UUID) -> httpx.Response:
    body = {"employee_id": str(employee_id), "pin": DEFAULT_PIN}
    return await client.post("/api/v1/auth/pin", json=body, headers=ipad.headers)


async def _locked(client: httpx.AsyncClient, tenant: Tenant, employee_id: UUID) -> bool:
    response = await client.get(f"/api/v1/employees/{employee_id}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    locked: bool = response.json()["pin_locked"]
    return locked


async def test_reported_failures_make_that_ipad_wait_as_online_ones_do(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await make_ipad(app, tenant)
    other = await make_ipad(app, tenant, name="Bar")
    cashier = await make_employee(tenant, role=Role.cashier)

    answer = await _report(client, ipad, _entry(cashier, failures=5))

    assert answer.status_code == 200, answer.text
    assert answer.json()["counted"] == 5
    assert await _locked(client, tenant, cashier)
    waiting = await _pin(client, ipad, cashier)
    assert_problem(waiting, 429, "rate_limited")
    assert int(waiting.headers["retry-after"]) > 0
    assert (await _pin(client, other, cashier)).status_code == 200, "only the reporting iPad"


async def test_fewer_than_the_free_tries_leave_the_ipad_free(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await make_ipad(app, tenant)
    cashier = await make_employee(tenant, role=Role.cashier)

    assert (await _report(client, ipad, _entry(cashier, failures=4))).status_code == 200

    assert not await _locked(client, tenant, cashier)
    assert (await _pin(client, ipad, cashier)).status_code == 200


async def test_cleared_failures_are_audited_not_counted(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await make_ipad(app, tenant)
    cashier = await make_employee(tenant, role=Role.cashier)

    answer = await _report(client, ipad, _entry(cashier, failures=7, cleared=True))

    assert answer.json()["counted"] == 0
    assert not await _locked(client, tenant, cashier)
    entries = (
        await AuditEntry.select()
        .where(
            (AuditEntry.action == "employees.offline_pin_failures")
            & (AuditEntry.target_id == str(cashier))
        )
        .output(load_json=True)
    )
    assert len(entries) == 1
    assert entries[0]["device_id"] == ipad.device_id
    assert entries[0]["details"]["failures"] == 7
    assert entries[0]["details"]["cleared"] is True


async def test_a_report_sent_again_counts_once_and_is_answered_the_same(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await make_ipad(app, tenant)
    cashier = await make_employee(tenant, role=Role.cashier)
    report_id = uuid4()

    first = await _report(client, ipad, _entry(cashier, failures=3), report_id=report_id)
    again = await _report(client, ipad, _entry(cashier, failures=3), report_id=report_id)

    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert not await _locked(client, tenant, cashier), "3 counted once, not 6"
    audited = await AuditEntry.count().where(
        (AuditEntry.action == "employees.offline_pin_failures")
        & (AuditEntry.target_id == str(cashier))
    )
    assert audited == 1
    changed = await _report(client, ipad, _entry(cashier, failures=9), report_id=report_id)
    assert_problem(changed, 409, "employees.offline_report_reused")
    assert not await _locked(client, tenant, cashier)


async def test_only_an_enrolled_ipad_reports(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    cashier = await make_employee(tenant, role=Role.cashier)
    body = {"report_id": str(uuid4()), "employees": [_entry(cashier)]}

    office = await client.post(REPORT, json=body, headers=tenant.headers)
    nobody = await client.post(REPORT, json=body)

    assert_problem(office, 400, "validation_failed")
    assert_problem(nobody, 401, "not_authenticated")
    assert not await _locked(client, tenant, cashier)


async def test_another_restaurants_employee_is_counted_here_only(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """An id from elsewhere is counted like any typed id, in this restaurant's own account:
    the other restaurant's employee is not slowed anywhere, and the answer is the same."""
    other_tenant = await make_tenant(app)
    theirs = await make_employee(other_tenant, role=Role.cashier)
    their_ipad = await make_ipad(app, other_tenant)
    ipad = await make_ipad(app, tenant)
    report_id = uuid4()

    answer = await _report(client, ipad, _entry(theirs, failures=9), report_id=report_id)
    unknown = await _report(client, ipad, _entry(uuid4(), failures=9))

    assert answer.status_code == unknown.status_code == 200
    assert answer.json()["counted"] == unknown.json()["counted"] == 9
    assert not await _locked(client, other_tenant, theirs)
    assert (await _pin(client, their_ipad, theirs)).status_code == 200
    # Report ids are the reporting iPad's own: the same id elsewhere is another report.
    again = await _report(client, their_ipad, _entry(theirs, failures=1), report_id=report_id)
    assert again.status_code == 200 and again.json()["counted"] == 1


@pytest.mark.parametrize(
    ("entries", "field"),
    [
        ([], "employees"),
        ([{"failures": 1}], None),
        (["zero"], None),
        ([_entry(UUID(int=1), failures=0)], None),
        ([_entry(UUID(int=1), failures=10_001)], None),
        ([_entry(UUID(int=1), first_at="2026-12-05T10:00:00Z")], "employees[0].first_at"),
        ([_entry(UUID(int=1)), _entry(UUID(int=1), failures=1)], "employees"),
        ([_entry(UUID(int=1), pin="1234")], None),
        ([_entry(UUID(int=1), first_at="2026-12-05T09:00:00")], None),
    ],
    ids=[
        "no-entries",
        "missing-fields",
        "not-an-object",
        "zero-failures",
        "too-many-failures",
        "first-after-last",
        "an-employee-twice",
        "unknown-field",
        "time-without-offset",
    ],
)
async def test_bad_reports_are_refused_whole_with_a_stable_code(
    app: Litestar,
    client: httpx.AsyncClient,
    tenant: Tenant,
    entries: list[Any],
    field: str | None,
) -> None:
    ipad = await make_ipad(app, tenant)
    cashier = await make_employee(tenant, role=Role.cashier)

    body = {"report_id": str(uuid4()), "employees": entries}
    answer = await client.post(REPORT, json=body, headers=ipad.headers)

    problem = assert_problem(answer, 400, "validation_failed")
    if field is not None:
        assert problem.get("field") == field
    assert not await _locked(client, tenant, cashier)
    without_id = {"employees": [_entry(cashier)]}
    assert_problem(
        await client.post(REPORT, json=without_id, headers=ipad.headers), 400, "validation_failed"
    )
