"""Location HTTP handlers."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from server.auth.dependencies import allow
from server.auth.permissions import Permission
from server.auth.tokens import Caller
from server.pagination import Page, decode_cursor, page_size
from server.restaurants import schemas as s
from server.restaurants import services


class LocationController(Controller):
    path = "/api/v1/locations"
    tags = ["locations"]

    @get(opt=allow(Permission.locations_view))
    async def list_locations(
        self,
        caller: NamedDependency[Caller],
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int | None] = None,
        include_archived: FromQuery[bool] = False,
    ) -> Page[s.Location]:
        return await services.list_locations(
            restaurant_id=caller.restaurant_id,
            include_archived=include_archived,
            after=decode_cursor(cursor),
            limit=page_size(limit),
        )

    @post(opt=allow(Permission.locations_manage))
    async def create_location(
        self, caller: NamedDependency[Caller], data: JSONBody[s.LocationCreate]
    ) -> s.Location:
        return await services.create_location(restaurant_id=caller.restaurant_id, body=data)

    @get("/{location_id:uuid}", opt=allow(Permission.locations_view))
    async def get_location(
        self, caller: NamedDependency[Caller], location_id: FromPath[UUID]
    ) -> s.Location:
        return await services.get_location(
            restaurant_id=caller.restaurant_id, location_id=location_id
        )

    @patch("/{location_id:uuid}", opt=allow(Permission.locations_manage))
    async def update_location(
        self,
        caller: NamedDependency[Caller],
        location_id: FromPath[UUID],
        data: JSONBody[s.LocationUpdate],
    ) -> s.Location:
        return await services.update_location(
            restaurant_id=caller.restaurant_id, location_id=location_id, body=data
        )

    @delete(
        "/{location_id:uuid}", summary="Archive a location", opt=allow(Permission.locations_manage)
    )
    async def archive_location(
        self, caller: NamedDependency[Caller], location_id: FromPath[UUID]
    ) -> None:
        await services.update_location(
            restaurant_id=caller.restaurant_id,
            location_id=location_id,
            body=s.LocationUpdate(archived=True),
        )
