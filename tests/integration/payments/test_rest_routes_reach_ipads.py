"""Every REST route that changes a synced entity reaches the iPads, and a stale edit from an
iPad that had not heard of it cannot undo it (issue 12).

Every mutating route of the OpenAPI document is either walked here or named in
``NOT_SYNCED`` with the reason; a new route that is neither fails the first test, so it
cannot skip the sync store unnoticed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
import pytest
from litestar import Litestar

from server.auth.tables import Role
from server.catalog.sync import availability_id
from server.openapi_export import openapi_document
from server.sync.reference_client import ReferenceDevice
from tests.factories import Tenant, make_employee, make_ipad, make_order
from tests.integration.payments.api import pay
from tests.integration.sync.test_push_rules import device

NOT_SYNCED = {
    "POST /api/v1/auth/approvals": "a manager's approval token; no synced state",
    "POST /api/v1/reports/z": "a Z-report is a back-office record; iPads read it over REST",
    "POST /api/v1/auth/login": "sessions are not synced",
    "POST /api/v1/auth/logout": "sessions are not synced",
    "POST /api/v1/auth/pin": "sessions are not synced",
    "POST /api/v1/auth/refresh": "sessions are not synced",
    "POST /api/v1/devices/enroll": "devices are not synced entities",
    "POST /api/v1/devices/enrolment-codes": "devices are not synced entities",
    "POST /api/v1/devices/{device_id}/enrolment-codes": "devices are not synced entities",
    "POST /api/v1/devices/{device_id}/revoke": "devices are not synced entities",
    "POST /api/v1/employees": "employees are not synced entities (yet: the time clock issue)",
    "PATCH /api/v1/employees/{employee_id}": "employees are not synced entities",
    "PUT /api/v1/employees/{employee_id}/pin": "employees are not synced entities",
    "PUT /api/v1/employees/pin-policy": "the PIN policy is not synced",
    "POST /api/v1/employees/offline-pin-failures": "PIN backoff only; not synced",
    "POST /api/v1/locations": "locations are not synced entities",
    "DELETE /api/v1/locations/{location_id}": "locations are not synced entities",
    "PATCH /api/v1/locations/{location_id}": "locations are not synced entities",
    "PUT /api/v1/orders/void-limits": "void limits are not synced",
    "POST /api/v1/payments/apple-pay/merchant-session": "asks Apple for a session; no state",
    "PUT /api/v1/payments/policy": "the surcharge policy is not synced",
    "PUT /api/v1/payments/refund-limits": "refund limits are not synced",
    "POST /api/v1/payments/{payment_id}/cancel": "changes an order only through ledger.reopen"
    " (a card taken offline, released), walked in test_offline_cards",
    "POST /api/v1/payments/{payment_id}/collect": "asks a reader for the card; no order change",
    "POST /api/v1/payments/terminal/readers": "card readers are not synced (iPads list them)",
    "PUT /api/v1/payments/terminal/locations/{location_id}": "Terminal set-up is not synced",
    "POST /api/v1/payments/terminal/connection-token": "a token for the Terminal SDK; no state",
    "PUT /api/v1/payments/offline-card-limits": "the limits are not synced (iPads read them)",
    "PUT /api/v1/payments/merchant-accounts/{currency}": "where the money goes; not synced",
    "POST /api/v1/payments/{payment_id}/acknowledge": "changes an order only through"
    " ledger.move_payment (a bank payment given up frees its amount; no order status)",
    "POST /api/v1/payments/{payment_id}/refunds": "a refund never changes the order's status",
    "POST /api/v1/sync/push": "the iPads' own path into the store",
    "POST /api/v1/sync/quarantine/{quarantine_id}/retry": "the change goes through"
    " engine.reapply, the push's own path; reaching another iPad: sync/test_sync_remedies",
    "POST /api/v1/sync/quarantine/{quarantine_id}/dismiss": "a manager's decision on the"
    " quarantine; no entity changes (the device hears of it in its pull)",
    "POST /api/v1/sync/conflicts/{conflict_id}/acknowledge": "marks the conflict log read;"
    " no entity changes",
    # These settle an order through ledger.settle_order, the function POST /payments walks.
    "POST /api/v1/payments/{payment_id}/confirm": "settles through ledger.settle_order",
    "POST /api/v1/payments/{payment_id}/capture": "settles through ledger.settle_order",
    "POST /api/v1/payments/webhooks/open-banking": "settles through ledger.settle_order",
    "POST /api/v1/payments/webhooks/stripe": "settles through ledger.settle_order",
    "POST /api/v1/time-clock/employees/{employee_id}/wage-rates": "pay is private: wage"
    " rates are never synced to the iPads, which everyone at the till shares",
    "PUT /api/v1/cash-up/settings": "the over/short threshold is the server's: it flags a"
    " session when it is closed; iPads read the result in drawer_session",
    "DELETE /api/v1/time-clock/schedules/{scheduled_shift_id}": "a tombstone through"
    " store.server_change (a removed shift is not shown, so this walk cannot check it);"
    " walked in timeclock/test_management_schedules",
}


@dataclass
class Ctx:
    client: httpx.AsyncClient
    tenant: Tenant
    ids: dict[str, str]

    async def call(self, method: str, path: str, **body: Any) -> dict[str, Any]:
        response = await self.client.request(
            method, path.format(**self.ids), json=body or None, headers=self.tenant.headers
        )
        assert response.status_code in (200, 201, 204), (method, path, response.text)
        return response.json() if response.content else {}


@dataclass
class Walk:
    """Before the iPads' first pull ``prepare`` runs; then ``act`` calls the route and names
    the entity and the fields the iPads must see; ``undo`` is a stale edit trying to put
    them back."""

    act: Callable[[Ctx], Awaitable[tuple[str, str, dict[str, Any]]]]
    undo: dict[str, Any]
    prepare: Callable[[Ctx], Awaitable[None]] | None = None


async def _category(ctx: Ctx) -> None:
    ctx.ids["category_id"] = (await ctx.call("POST", "/api/v1/categories", name="Soups"))["id"]


async def _group(ctx: Ctx) -> None:
    made = await ctx.call("POST", "/api/v1/modifier-groups", name="Sauces")
    ctx.ids["group_id"] = made["id"]


async def _modifier(ctx: Ctx) -> None:
    await _group(ctx)
    made = await ctx.call("POST", "/api/v1/modifiers", group_id=ctx.ids["group_id"], name="Mayo")
    ctx.ids["modifier_id"] = made["id"]


async def _product(ctx: Ctx) -> None:
    made = await ctx.call("POST", "/api/v1/products", name="Tea", price=300)
    ctx.ids["product_id"] = made["id"]


async def _table(ctx: Ctx) -> None:
    location = str(ctx.tenant.location_id)
    made = await ctx.call("POST", "/api/v1/tables", location_id=location, name="T9")
    ctx.ids["table_id"] = made["id"]


async def _order(ctx: Ctx) -> None:
    ctx.ids["order_id"] = str(await make_order(ctx.tenant, seq=1))


def created(entity_type: str, path: str, **body: Any) -> Walk:
    async def act(ctx: Ctx) -> tuple[str, str, dict[str, Any]]:
        made = await ctx.call("POST", path, **body)
        return entity_type, made["id"], body

    return Walk(act, undo={"name": "stale"})


def changed(entity_type: str, method: str, path: str, id_name: str, **body: Any) -> Walk:
    async def act(ctx: Ctx) -> tuple[str, str, dict[str, Any]]:
        await ctx.call(method, path, **body)
        return entity_type, ctx.ids[id_name], body or {"archived": True}

    prepares = {
        "category_id": _category,
        "group_id": _group,
        "modifier_id": _modifier,
        "product_id": _product,
        "table_id": _table,
    }
    undo = {"archived": False} if method == "DELETE" else {key: "stale" for key in body}
    return Walk(act, undo=undo, prepare=prepares[id_name])


async def _eighty_six(ctx: Ctx) -> tuple[str, str, dict[str, Any]]:
    product = ctx.ids["product_id"]
    body = {"location_id": str(ctx.tenant.location_id), "product_id": product, "sold_out": True}
    await ctx.call("PUT", "/api/v1/availability", **body)
    return (
        "availability",
        str(availability_id(ctx.tenant.location_id, UUID(product))),
        {"sold_out": True},
    )


async def _void(ctx: Ctx) -> tuple[str, str, dict[str, Any]]:
    await ctx.call("POST", "/api/v1/orders/{order_id}/void", reason="walk-out")
    return "order", ctx.ids["order_id"], {"status": "voided"}


async def _paid_by_card(ctx: Ctx) -> tuple[str, str, dict[str, Any]]:
    order_id = UUID(ctx.ids["order_id"])
    method = {"method": "card", "payment_method": "pm_card_visa"}
    response = await pay(ctx.client, ctx.tenant.headers, order_id, amount=300, **method)
    assert response.status_code == 201, response.text
    return "order", str(order_id), {"status": "paid"}


async def _employee(ctx: Ctx) -> None:
    ctx.ids["employee_id"] = str(await make_employee(ctx.tenant, role=Role.server))


async def _corrected(ctx: Ctx) -> tuple[str, str, dict[str, Any]]:
    fields = {"action": "add", "kind": "clock_out", "reason": "Forgot to clock out"}
    made = await ctx.call(
        "POST",
        "/api/v1/time-clock/corrections",
        employee_id=ctx.ids["employee_id"],
        location_id=str(ctx.tenant.location_id),
        at="2026-11-02T17:00:00Z",
        **fields,
    )
    return "time_punch_correction", made["id"], fields


WALKS = {
    "POST /api/v1/categories": created("category", "/api/v1/categories", name="Mains"),
    "PATCH /api/v1/categories/{category_id}": changed(
        "category", "PATCH", "/api/v1/categories/{category_id}", "category_id", name="Starters"
    ),
    "DELETE /api/v1/categories/{category_id}": changed(
        "category", "DELETE", "/api/v1/categories/{category_id}", "category_id"
    ),
    "POST /api/v1/modifier-groups": created("modifier_group", "/api/v1/modifier-groups", name="X"),
    "PATCH /api/v1/modifier-groups/{group_id}": changed(
        "modifier_group", "PATCH", "/api/v1/modifier-groups/{group_id}", "group_id", name="Y"
    ),
    "DELETE /api/v1/modifier-groups/{group_id}": changed(
        "modifier_group", "DELETE", "/api/v1/modifier-groups/{group_id}", "group_id"
    ),
    "POST /api/v1/modifiers": Walk(
        act=lambda ctx: _created_modifier(ctx), undo={"name": "stale"}, prepare=_group
    ),
    "PATCH /api/v1/modifiers/{modifier_id}": changed(
        "modifier", "PATCH", "/api/v1/modifiers/{modifier_id}", "modifier_id", name="Ketchup"
    ),
    "DELETE /api/v1/modifiers/{modifier_id}": changed(
        "modifier", "DELETE", "/api/v1/modifiers/{modifier_id}", "modifier_id"
    ),
    "POST /api/v1/products": created("product", "/api/v1/products", name="Cake", price=450),
    "PATCH /api/v1/products/{product_id}": changed(
        "product", "PATCH", "/api/v1/products/{product_id}", "product_id", name="Green tea"
    ),
    "DELETE /api/v1/products/{product_id}": changed(
        "product", "DELETE", "/api/v1/products/{product_id}", "product_id"
    ),
    "POST /api/v1/tables": Walk(act=lambda ctx: _created_table(ctx), undo={"name": "stale"}),
    "PATCH /api/v1/tables/{table_id}": changed(
        "floor_table", "PATCH", "/api/v1/tables/{table_id}", "table_id", name="T10"
    ),
    "DELETE /api/v1/tables/{table_id}": changed(
        "floor_table", "DELETE", "/api/v1/tables/{table_id}", "table_id"
    ),
    "PUT /api/v1/availability": Walk(_eighty_six, undo={"sold_out": False}, prepare=_product),
    "POST /api/v1/orders/{order_id}/void": Walk(_void, undo={"status": "sent"}, prepare=_order),
    "POST /api/v1/payments": Walk(_paid_by_card, undo={"status": "voided"}, prepare=_order),
    "POST /api/v1/time-clock/corrections": Walk(
        _corrected, undo={"action": "void"}, prepare=_employee
    ),
}


async def _created_modifier(ctx: Ctx) -> tuple[str, str, dict[str, Any]]:
    body = {"group_id": ctx.ids["group_id"], "name": "Aioli"}
    made = await ctx.call("POST", "/api/v1/modifiers", **body)
    return "modifier", made["id"], body


async def _created_table(ctx: Ctx) -> tuple[str, str, dict[str, Any]]:
    body = {"location_id": str(ctx.tenant.location_id), "name": "Patio 1"}
    made = await ctx.call("POST", "/api/v1/tables", **body)
    return "floor_table", made["id"], body


# The time clock's server-written entities (iPads cannot push them, so a stale edit is refused).
CLOCK = "/api/v1/time-clock"


async def _job_role(ctx: Ctx) -> None:
    ctx.ids["job_role_id"] = (await ctx.call("POST", f"{CLOCK}/job-roles", name="Bar"))["id"]


async def _break_type(ctx: Ctx) -> None:
    made = await ctx.call(
        "POST", f"{CLOCK}/break-types", name="Meal", paid=False, expected_minutes=30
    )
    ctx.ids["break_type_id"] = made["id"]


def clock_changed(entity_type: str, path: str, id_name: str, **body: Any) -> Walk:
    async def act(ctx: Ctx) -> tuple[str, str, dict[str, Any]]:
        await ctx.call("PATCH", path, **body)
        return entity_type, ctx.ids[id_name], body

    prepare = _job_role if id_name == "job_role_id" else _break_type
    return Walk(act, undo={key: "stale" for key in body}, prepare=prepare)


async def _scheduled(ctx: Ctx) -> tuple[str, str, dict[str, Any]]:
    employee = str(await make_employee(ctx.tenant, role=Role.server))
    times = {"starts_at": "2026-12-14T09:00:00Z", "ends_at": "2026-12-14T17:00:00Z"}
    location = str(ctx.tenant.location_id)
    made = await ctx.call(
        "POST", f"{CLOCK}/schedules", employee_id=employee, location_id=location, **times
    )
    return "scheduled_shift", made["id"], {"employee_id": employee, **times}


async def _clock_rules(ctx: Ctx) -> tuple[str, str, dict[str, Any]]:
    rules = {
        "auto_close_after_minutes": 600,
        "early_clock_in_minutes": 10,
        "late_after_minutes": 5,
        "weekly_overtime_minutes": 2400,
        "day_starts_at": "05:00",
        "tip_pooling": "by_hours",
    }
    await ctx.call("PUT", f"{CLOCK}/settings", **rules)
    return "time_clock_settings", str(ctx.tenant.restaurant_id), rules


WALKS |= {
    f"POST {CLOCK}/job-roles": created("job_role", f"{CLOCK}/job-roles", name="Floor"),
    f"PATCH {CLOCK}/job-roles/{{job_role_id}}": clock_changed(
        "job_role", f"{CLOCK}/job-roles/{{job_role_id}}", "job_role_id", name="Host"
    ),
    f"POST {CLOCK}/break-types": created(
        "break_type", f"{CLOCK}/break-types", name="Rest", paid=True, expected_minutes=10
    ),
    f"PATCH {CLOCK}/break-types/{{break_type_id}}": clock_changed(
        "break_type", f"{CLOCK}/break-types/{{break_type_id}}", "break_type_id", paid=True
    ),
    f"POST {CLOCK}/schedules": Walk(_scheduled, undo={"starts_at": "stale"}),
    f"PUT {CLOCK}/settings": Walk(_clock_rules, undo={"tip_pooling": "none"}),
}


# Cash-up drawers, server-written (iPads cannot push them, so a stale edit is refused).
CASHUP = "/api/v1/cash-up"


async def _drawer(ctx: Ctx) -> None:
    made = await ctx.call(
        "POST", f"{CASHUP}/drawers", name="Back bar", location_id=str(ctx.tenant.location_id)
    )
    ctx.ids["drawer_id"] = made["id"]


async def _created_drawer(ctx: Ctx) -> tuple[str, str, dict[str, Any]]:
    location = str(ctx.tenant.location_id)
    made = await ctx.call("POST", f"{CASHUP}/drawers", name="Front till", location_id=location)
    return "cash_drawer", made["id"], {"name": "Front till", "archived": False}


async def _renamed_drawer(ctx: Ctx) -> tuple[str, str, dict[str, Any]]:
    await ctx.call("PATCH", f"{CASHUP}/drawers/{{drawer_id}}", name="Till 2", archived=True)
    return "cash_drawer", ctx.ids["drawer_id"], {"name": "Till 2", "archived": True}


WALKS |= {
    f"POST {CASHUP}/drawers": Walk(_created_drawer, undo={"name": "stale"}),
    f"PATCH {CASHUP}/drawers/{{drawer_id}}": Walk(
        _renamed_drawer, undo={"archived": False}, prepare=_drawer
    ),
}


def mutating_routes() -> set[str]:
    return {
        f"{method.upper()} {path}"
        for path, operations in openapi_document()["paths"].items()
        for method in operations
        if method in ("post", "put", "patch", "delete")
    }


def test_every_mutating_route_is_walked_or_said_not_to_sync() -> None:
    assert not WALKS.keys() & NOT_SYNCED.keys()
    assert mutating_routes() == WALKS.keys() | NOT_SYNCED.keys()


@pytest.mark.parametrize("route", sorted(WALKS))
async def test_the_route_reaches_the_ipads_and_a_stale_edit_cannot_undo_it(
    route: str, app: Litestar, client: httpx.AsyncClient, tenant: Tenant, with_stripe: object
) -> None:
    walk, ctx = WALKS[route], Ctx(client, tenant, {})
    if walk.prepare is not None:
        await walk.prepare(ctx)
    stale: ReferenceDevice = await device(client, await make_ipad(app, tenant, name="Stale"))
    assert await stale.pull()

    entity_type, entity_id, fields = await walk.act(ctx)

    stale.edit(entity_type, entity_id, walk.undo)  # before it hears of the route's change
    assert await stale.sync()
    fresh = await device(client, await make_ipad(app, tenant, name="Fresh"))
    assert await fresh.pull()
    for ipad in (stale, fresh):
        shown = ipad.get(entity_type, entity_id)
        assert shown is not None, (route, ipad.device_id)
        assert {key: shown.data.get(key) for key in fields} == fields, (route, shown.data)
