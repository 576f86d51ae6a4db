"""Order HTTP handlers (orders are written by the sync engine; the back office reads them)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from server.auth.dependencies import allow
from server.auth.permissions import Permission
from server.auth.tokens import Caller
from server.orders import schemas as s
from server.orders import services
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

    @post(
        "/{order_id:uuid}/void",
        status_code=200,
        summary="Void an open order (lower roles need a manager's approval)",
        opt=allow(Permission.orders_void),
    )
    async def void_order(
        self,
        caller: NamedDependency[Caller],
        order_id: FromPath[UUID],
        data: JSONBody[s.VoidRequest],
    ) -> s.Order:
        return await services.void_order(
            restaurant_id=caller.restaurant_id,
            order_id=order_id,
            location_id=caller.location_id,
            reason=data.reason,
        )
