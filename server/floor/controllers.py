"""Dining-table HTTP handlers."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from server.auth.dependencies import allow
from server.auth.permissions import Permission
from server.auth.tokens import Caller
from server.floor import schemas as s
from server.floor import services
from server.pagination import Page, decode_cursor, page_size


class FloorTableController(Controller):
    path = "/api/v1/tables"
    tags = ["floor"]

    @get(opt=allow(Permission.floor_view))
    async def list_tables(
        self,
        caller: NamedDependency[Caller],
        location_id: FromQuery[UUID | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int | None] = None,
        include_archived: FromQuery[bool] = False,
    ) -> Page[s.FloorTable]:
        return await services.list_tables(
            restaurant_id=caller.restaurant_id,
            location_id=location_id,
            include_archived=include_archived,
            after=decode_cursor(cursor),
            limit=page_size(limit),
        )

    @post(opt=allow(Permission.floor_manage))
    async def create_table(
        self, caller: NamedDependency[Caller], data: JSONBody[s.FloorTableCreate]
    ) -> s.FloorTable:
        return await services.create_table(restaurant_id=caller.restaurant_id, body=data)

    @get("/{table_id:uuid}", opt=allow(Permission.floor_view))
    async def get_table(
        self, caller: NamedDependency[Caller], table_id: FromPath[UUID]
    ) -> s.FloorTable:
        return await services.get_table(restaurant_id=caller.restaurant_id, table_id=table_id)

    @patch("/{table_id:uuid}", opt=allow(Permission.floor_manage))
    async def update_table(
        self,
        caller: NamedDependency[Caller],
        table_id: FromPath[UUID],
        data: JSONBody[s.FloorTableUpdate],
    ) -> s.FloorTable:
        return await services.update_table(
            restaurant_id=caller.restaurant_id, table_id=table_id, body=data
        )

    @delete("/{table_id:uuid}", summary="Archive a table", opt=allow(Permission.floor_manage))
    async def archive_table(
        self, caller: NamedDependency[Caller], table_id: FromPath[UUID]
    ) -> None:
        await services.update_table(
            restaurant_id=caller.restaurant_id,
            table_id=table_id,
            body=s.FloorTableUpdate(archived=True),
        )
