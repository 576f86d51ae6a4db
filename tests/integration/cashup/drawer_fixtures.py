"""Opening, trading and closing drawers as iPads do, and reading them as a manager does.

Drawer steps and cash payments are pushed through the real sync route, signed by the PIN of
the employee signed in on the iPad (``punch_fixtures.Till``), so they meet every rule a
real iPad's do. Drawers are added through their REST route.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx

from server.auth.offline import SignedIn, statement_of
from tests.factories import Tenant, make_order
from tests.integration.timeclock.punch_fixtures import Till, wire_time

CASHUP = "/api/v1/cash-up"


async def add_drawer(
    client: httpx.AsyncClient, tenant: Tenant, name: str = "Front till"
) -> dict[str, Any]:
    response = await client.post(
        f"{CASHUP}/drawers",
        json={"name": name, "location_id": str(tenant.location_id)},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def employee_of(till: Till) -> str:
    assert till.ipad.signed_in is not None
    return str(till.ipad.signed_in.employee_id)


def drawer_open(
    till: Till, drawer_id: str, counts: dict[int, int], at: datetime, **more: Any
) -> dict[str, Any]:
    session_id = more.pop("session_id", None) or uuid4()
    fields = {
        "drawer_id": drawer_id,
        "float_counts": {str(pence): pieces for pence, pieces in counts.items()},
        "at": wire_time(at),
        "device_id": str(till.device_id),
        "employee_id": employee_of(till),
        **more,
    }
    return till.change("drawer_open", session_id, fields)


def movement(
    till: Till, session_id: str, kind: str, amount: int, at: datetime, **more: Any
) -> dict[str, Any]:
    fields = {
        "session_id": session_id,
        "kind": kind,
        "amount": amount,
        "reason": more.pop("reason", "window cleaner"),
        "at": wire_time(at),
        "device_id": str(till.device_id),
        "employee_id": employee_of(till),
        **more,
    }
    return till.change("drawer_movement", uuid4(), fields)


def drawer_close(
    till: Till, session_id: str, counts: dict[int, int], at: datetime, **more: Any
) -> dict[str, Any]:
    fields = {
        "session_id": session_id,
        "counts": {str(pence): pieces for pence, pieces in counts.items()},
        "at": wire_time(at),
        "device_id": str(till.device_id),
        "employee_id": employee_of(till),
        **more,
    }
    return till.change("drawer_close", uuid4(), fields)


def approved(till: Till, wire: dict[str, Any], by: SignedIn, permission: str) -> dict[str, Any]:
    """``wire`` signed by whoever is signed in on the till, with ``by``'s approval."""
    signed = till.ipad.signed(wire)
    return signed | {"approval": by.approval(permission, statement_of(till.device_id, wire))}


async def cash_sale(
    tenant: Tenant, till: Till, amount: int, at: datetime, *, tip: int = 0, seq: int
) -> tuple[UUID, dict[str, Any]]:
    """An order, and the change paying it in cash on ``till`` at ``at``."""
    order_id = await make_order(tenant, seq=seq, lines=[("Lunch", amount, 1, 2000)])
    payment_id = uuid4()
    fields = {
        "order_id": str(order_id),
        "amount": amount,
        "tip": tip,
        "tendered": amount + tip,
        "currency": "GBP",
        "taken_at": wire_time(at),
        "employee_id": employee_of(till),
    }
    return payment_id, till.change("cash_payment", payment_id, fields)


async def session(client: httpx.AsyncClient, headers: dict[str, str], session_id: str) -> Any:
    response = await client.get(f"{CASHUP}/drawer-sessions/{session_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
