"""Order HTTP handlers (orders are written by the sync engine; the back office reads them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from litestar import Controller, Request, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from server.auth import approvals
from server.auth.dependencies import APPROVAL_HEADER, allow
from server.auth.permissions import Permission
from server.auth.tokens import Caller
from server.orders import schemas as s
from server.orders import services, void_limits
from server.orders.tables import OrderStatus
from server.pagination import Page, decode_cursor, page_size


class OrderController(Controller):
    path = "/api/v1/orders"
    tags = ["orders"]

    @get(summary="Orders, newest first", opt=allow(Permission.orders_view))
    async def list_orders(
        self,
        caller: NamedDependency[Caller],
        location_id: FromQuery[UUID | None] = None,
        table_id: FromQuery[UUID | None] = None,
        status: FromQuery[OrderStatus | None] = None,
        opened_from: FromQuery[datetime | None] = None,
        opened_to: FromQuery[datetime | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int | None] = None,
    ) -> Page[s.OrderSummary]:
        return await services.list_orders(
            restaurant_id=caller.restaurant_id,
            location_id=location_id,
            caller_location_id=caller.location_id,
            table_id=table_id,
            status=status,
            opened_from=opened_from,
            opened_to=opened_to,
            after=decode_cursor(cursor),
            limit=page_size(limit),
        )

    @get("/{order_id:uuid}", opt=allow(Permission.orders_view))
    async def get_order(self, caller: NamedDependency[Caller], order_id: FromPath[UUID]) -> s.Order:
        return await services.get_order(
            restaurant_id=caller.restaurant_id, order_id=order_id, location_id=caller.location_id
        )

    @get(
        "/void-limits",
        summary="What one employee may void in a day before each void needs an approval",
        opt=allow(Permission.orders_view),
    )
    async def get_void_limits(self, caller: NamedDependency[Caller]) -> s.VoidLimits:
        return await void_limits.get_limits(restaurant_id=caller.restaurant_id)

    @put(
        "/void-limits",
        summary="Set the daily void limits (an owner raises them; a manager may lower them)",
        opt=allow(Permission.payments_manage),
    )
    async def set_void_limits(
        self, caller: NamedDependency[Caller], data: JSONBody[s.VoidLimitsUpdate]
    ) -> s.VoidLimits:
        return await void_limits.set_limits(
            restaurant_id=caller.restaurant_id, role=caller.role, update=data
        )

    @post(
        "/{order_id:uuid}/void",
        status_code=200,
        summary="Void an open order (lower roles need a manager's approval; anyone past their"
        " daily void limit another manager's approval)",
        opt=allow(Permission.orders_void)
        | {"errors": (void_limits.VoidNeedsApproval, services.OrderHoldsMoney)},
    )
    async def void_order(
        self,
        request: Request[Any, Any, Any],
        caller: NamedDependency[Caller],
        order_id: FromPath[UUID],
        data: JSONBody[s.VoidRequest],
    ) -> s.Order:
        async def approve() -> UUID | None:
            """Spend the request's approval, if it carries one, for the void limit."""
            token = request.headers.get(APPROVAL_HEADER)
            if not token:
                return None
            approver = await approvals.spend(
                request.app.state.signing_keys,
                token,
                permission=Permission.orders_void,
                caller=caller,
            )
            request.state.approved_by = approver  # the audit log names who approved
            return approver

        voider = services.Voider(
            employee_id=caller.employee_id,
            user_id=caller.user_id,
            role=caller.role,
            approved_by=request.state.get("approved_by"),
            approve=approve,
        )
        return await services.void_order(
            restaurant_id=caller.restaurant_id,
            order_id=order_id,
            location_id=caller.location_id,
            reason=data.reason,
            voider=voider,
        )
