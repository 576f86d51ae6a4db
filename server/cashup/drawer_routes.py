"""Cash-up drawers over HTTP (docs/cash-up.md): managers keep the drawers and the over/short
threshold and read sessions with their expected cash; whoever uses a drawer reads their
location's open session, blind. Sessions themselves are made on iPads, through sync."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from litestar import Controller, Router, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from server.auth.dependencies import allow
from server.auth.permissions import Permission
from server.auth.tokens import Caller
from server.cashup import drawers_manage as manage
from server.cashup import drawers_read as read
from server.cashup import drawers_schemas as s
from server.errors import ValidationFailed

LONGEST_LISTED_PERIOD_DAYS = 366


class DrawerController(Controller):
    path = "/drawers"

    @get(
        summary="The drawers, by location and name (an iPad's own location only)",
        opt=allow(Permission.drawer_use),
    )
    async def list_drawers(
        self,
        caller: NamedDependency[Caller],
        location_id: FromQuery[UUID | None] = None,
        include_archived: FromQuery[bool] = False,
    ) -> list[s.Drawer]:
        return await manage.list_drawers(
            restaurant_id=caller.restaurant_id,
            location_id=caller.location_id or location_id,
            include_archived=include_archived,
        )

    @post(
        summary="Add a drawer at a location (synced to its iPads)",
        opt=allow(Permission.drawer_manage),
    )
    async def create_drawer(
        self, caller: NamedDependency[Caller], data: JSONBody[s.DrawerCreate]
    ) -> s.Drawer:
        return await manage.create_drawer(caller=caller, body=data)

    @get("/{drawer_id:uuid}", summary="One drawer", opt=allow(Permission.drawer_use))
    async def get_drawer(
        self, caller: NamedDependency[Caller], drawer_id: FromPath[UUID]
    ) -> s.Drawer:
        return await manage.get_drawer(caller=caller, drawer_id=drawer_id)

    @patch(
        "/{drawer_id:uuid}",
        summary="Rename a drawer, or archive it (it can no longer be opened)",
        opt=allow(Permission.drawer_manage),
    )
    async def update_drawer(
        self,
        caller: NamedDependency[Caller],
        drawer_id: FromPath[UUID],
        data: JSONBody[s.DrawerUpdate],
    ) -> s.Drawer:
        return await manage.update_drawer(caller=caller, drawer_id=drawer_id, body=data)


class DrawerSessionController(Controller):
    path = "/drawer-sessions"

    @get(
        summary="Drawer sessions opened on some business days, and cash outside any session",
        description=(
            "Each location's business days, by its own clock and the restaurant's "
            "`day_starts_at`. Expected cash, over/short and flags are worked out from the "
            "facts when read. A manager signed in on an iPad sees its location only."
        ),
        opt=allow(Permission.drawer_manage),
    )
    async def list_drawer_sessions(
        self,
        caller: NamedDependency[Caller],
        start: FromQuery[date],
        end: Annotated[
            date, QueryParameter(description="On or after `start`, at most 366 days later")
        ],
        location_id: FromQuery[UUID | None] = None,
    ) -> s.DrawerSessions:
        if end < start or (end - start).days > LONGEST_LISTED_PERIOD_DAYS:
            raise ValidationFailed(
                "end must be on or after start, at most a year later", field="end"
            )
        return await read.list_sessions(
            caller=caller, start=start, end=end, location_id=location_id
        )

    @get(
        "/{session_id:uuid}",
        summary="One drawer session: its movements, cash and expected cash line by line",
        description=(
            "A manager reads any session of the restaurant in full. Anyone else who uses a "
            "drawer reads their iPad's location's open session only, blind: no expected "
            "cash, over/short or the cash sales that make it."
        ),
        opt=allow(Permission.drawer_use),
    )
    async def get_drawer_session(
        self, caller: NamedDependency[Caller], session_id: FromPath[UUID]
    ) -> s.DrawerSessionDetail:
        return await read.get_session(caller=caller, session_id=session_id)


class CashupSettingsController(Controller):
    path = "/settings"

    @get(
        summary="The over/short threshold (£5.00 until set)",
        opt=allow(Permission.drawer_manage),
    )
    async def get_cashup_settings(self, caller: NamedDependency[Caller]) -> s.CashupSettings:
        return await manage.get_settings(restaurant_id=caller.restaurant_id)

    @put(
        summary="Set the over/short threshold (audited)",
        description="Applies to sessions closed from now on; a closed session keeps its own.",
        opt=allow(Permission.drawer_manage),
    )
    async def set_cashup_settings(
        self, caller: NamedDependency[Caller], data: JSONBody[s.CashupSettingsUpdate]
    ) -> s.CashupSettings:
        return await manage.set_settings(caller=caller, body=data)


drawer_routes = Router(
    "/api/v1/cash-up",
    route_handlers=[DrawerController, DrawerSessionController, CashupSettingsController],
    tags=["cash-up"],
)
"""Everything above under ``/api/v1/cash-up``: the one line ``server/app.py`` adds."""
