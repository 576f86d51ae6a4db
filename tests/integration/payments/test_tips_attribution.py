"""A tip belongs to the employee who took it: the one signed in, on every payment path.

Tips are shared out by the time clock's tips report (``server/timeclock/tips.py``), which
reads ``payments.employee_id``. On REST it comes from the caller's employee session; on
sync (cash and cards taken offline) from the change's proven maker, never from a field the
iPad may leave out or fill with someone else's id.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from litestar import Litestar

from server.auth.tables import Role
from server.db.engine import DB
from tests.factories import Tenant, make_employee, make_ipad, make_order, sign_in
from tests.integration.payments.api import cash, pay
from tests.integration.sync.test_push_rules import change, conflicts, push

pytestmark = pytest.mark.usefixtures("with_bank")

PIZZA = [("Pizza", 2500, 1, 2000)]


async def taken_by(payment_id: UUID | str) -> UUID | None:
    assert DB.pool is not None
    employee: UUID | None = await DB.pool.fetchval(
        "SELECT employee_id FROM payments WHERE id = $1", UUID(str(payment_id))
    )
    return employee


@pytest.mark.parametrize(
    "method",
    [
        {"method": "cash", "tendered": 3000},
        {"method": "card", "payment_method": "pm_card_visa"},
        {"method": "card_present"},
        {"method": "open_banking"},
    ],
    ids=lambda body: str(body["method"]),
)
async def test_a_payment_taken_on_rest_carries_the_signed_in_employee(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, method: dict[str, Any]
) -> None:
    server = await make_employee(tenant, role=Role.server)
    till = await sign_in(app, await make_ipad(app, tenant), server)
    order_id = await make_order(tenant, seq=1, lines=PIZZA)
    response = await pay(client, till.headers, order_id, amount=2500, tip=250, **method)
    assert response.status_code == 201, response.text
    assert await taken_by(response.json()["id"]) == server


async def test_a_payment_taken_in_the_back_office_is_nobodys(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """An owner at a desk is no employee: the tip is reported as unattributed."""
    order_id = await make_order(tenant, seq=1, lines=PIZZA)
    response = await cash(client, tenant.headers, order_id, 2500, tip=250)
    assert response.status_code == 201, response.text
    assert await taken_by(response.json()["id"]) is None


def cash_fields(order_id: UUID, **more: Any) -> dict[str, Any]:
    return {
        "order_id": str(order_id),
        "amount": 2500,
        "tip": 250,
        "tendered": 3000,
        "currency": "GBP",
        "taken_at": "2026-11-26T12:30:00Z",
        **more,
    }


def card_fields(order_id: UUID, **more: Any) -> dict[str, Any]:
    return {
        "order_id": str(order_id),
        "amount": 2500,
        "tip": 250,
        "currency": "GBP",
        "stored_at": "2026-11-26T12:30:00Z",
        **more,
    }


@pytest.mark.parametrize(
    ("entity_type", "fields"),
    [("cash_payment", cash_fields), ("offline_card_payment", card_fields)],
    ids=["cash", "offline_card"],
)
async def test_a_payment_synced_without_an_employee_is_the_makers(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, entity_type: str, fields: Any
) -> None:
    till = await make_ipad(app, tenant, signed_in=Role.cashier)
    order_id = await make_order(tenant, seq=1, lines=PIZZA)
    payment_id = uuid4()
    response = await push(
        client, till, [change(till, 1, entity_type, payment_id, fields(order_id))]
    )
    assert [r["outcome"] for r in response.json()["results"]] == ["applied"], response.text
    assert await taken_by(payment_id) == tenant.staff[Role.cashier]
    # What the iPads pull says the same, so every till shows who took it.
    assert response.json()["results"][0]["state"]["data"]["employee_id"] == str(
        tenant.staff[Role.cashier]
    )


@pytest.mark.parametrize(
    ("entity_type", "fields"),
    [("cash_payment", cash_fields), ("offline_card_payment", card_fields)],
    ids=["cash", "offline_card"],
)
async def test_a_payment_synced_naming_someone_else_is_the_makers_and_a_manager_sees_it(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, entity_type: str, fields: Any
) -> None:
    till = await make_ipad(app, tenant, signed_in=Role.cashier)
    colleague = await make_employee(tenant, role=Role.server)
    order_id = await make_order(tenant, seq=1, lines=PIZZA)
    payment_id = uuid4()
    claimed = fields(order_id, employee_id=str(colleague))
    response = await push(client, till, [change(till, 1, entity_type, payment_id, claimed)])
    assert [r["outcome"] for r in response.json()["results"]] == ["applied"], response.text
    assert await taken_by(payment_id) == tenant.staff[Role.cashier]
    [logged] = [c for c in await conflicts(client, tenant) if c["entity_id"] == str(payment_id)]
    assert logged["rule"] == "taken_by_maker"


async def test_a_payment_synced_naming_its_maker_is_no_conflict(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """What the app sends (``PaymentFlowModel``): the maker's own id, left as it is."""
    till = await make_ipad(app, tenant, signed_in=Role.cashier)
    order_id = await make_order(tenant, seq=1, lines=PIZZA)
    payment_id = uuid4()
    own = cash_fields(order_id, employee_id=str(tenant.staff[Role.cashier]))
    response = await push(client, till, [change(till, 1, "cash_payment", payment_id, own)])
    assert [r["outcome"] for r in response.json()["results"]] == ["applied"], response.text
    assert await taken_by(payment_id) == tenant.staff[Role.cashier]
    assert [c for c in await conflicts(client, tenant) if c["entity_id"] == str(payment_id)] == []
