"""``GET /api/v1/sync/devices``: every enrolled iPad's sync health, for managers."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromQuery

from server.auth.dependencies import allow
from server.auth.permissions import Permission
from server.auth.tokens import Caller
from server.pagination import Page, page_size
from server.realtime.hub import Hub
from server.sync import device_status
from server.sync.device_status import DeviceStatus


class DeviceStatusController(Controller):
    path = "/api/v1/sync/devices"
    tags = ["sync"]

    @get(
        "/",
        summary="Every enrolled iPad's sync health, worst first",
        description=(
            "Red, amber or green by the rule in docs/back-office.md, with the figures behind"
            " it. A manager signed in on an iPad sees that iPad's location only."
        ),
        opt=allow(Permission.sync_view),
    )
    async def list_devices(
        self,
        request: Request[Any, Any, Any],
        caller: NamedDependency[Caller],
        include_revoked: FromQuery[bool] = False,
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int | None] = None,
    ) -> Page[DeviceStatus]:
        hub: Hub = request.app.state.realtime_hub
        return await device_status.list_devices(
            restaurant_id=caller.restaurant_id,
            location_id=caller.location_id,
            include_revoked=include_revoked,
            online=hub.devices_online(),
            cursor=cursor,
            limit=page_size(limit),
        )
