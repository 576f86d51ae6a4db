"""Sync over HTTP: push and pull for enrolled iPads; conflicts and quarantine for managers."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody

from server.auth.dependencies import allow
from server.auth.permissions import Permission
from server.auth.tokens import Caller
from server.devices.schemas import Device
from server.errors import ValidationFailed
from server.pagination import Page, decode_id_cursor, page_size
from server.sync import engine, feed, reports
from server.sync.errors import DeviceMismatch, ResyncRequired, SequenceGap, UpgradeRequired
from server.sync.protocol import (
    PULL_LIMIT_DEFAULT,
    PULL_LIMIT_MAX,
    ConflictEntry,
    PullResponse,
    PushRequest,
    PushResponse,
    QuarantinedChange,
)
from server.sync.registry import DeviceContext


def _device(request: Request[Any, Any, Any]) -> DeviceContext:
    """The iPad the guard verified (active, at its location) from its device token."""
    device: Device | None = request.state.device
    caller: Caller = request.state.caller
    if device is None:
        raise ValidationFailed(
            "sync is for enrolled iPads; send the device token", field="device_id"
        )
    return DeviceContext(
        device_id=device.id,
        restaurant_id=caller.restaurant_id,
        location_id=device.location_id,
        prefix=device.prefix,
    )


# Further refusals, so the OpenAPI document lists them (see server/openapi.py).
PUSH_ERRORS = (DeviceMismatch, SequenceGap, UpgradeRequired)
PULL_ERRORS = (ResyncRequired, UpgradeRequired)


class SyncController(Controller):
    path = "/api/v1/sync"
    tags = ["sync"]

    @post(
        "/push",
        status_code=200,
        summary="Push a batch of changes",
        opt={**allow(Permission.sync_device), "nul_checked_per_change": True},
    )
    async def push(
        self, request: Request[Any, Any, Any], data: JSONBody[PushRequest]
    ) -> PushResponse:
        if "\x00" in data.app_version:
            raise ValidationFailed("text must not contain NUL (\\u0000)", field="app_version")
        return await engine.push(device=_device(request), request=data)

    @get(
        "/pull",
        summary="Changes after a cursor",
        opt={**allow(Permission.sync_device), "errors": PULL_ERRORS, "limit_max": PULL_LIMIT_MAX},
    )
    async def pull(
        self,
        request: Request[Any, Any, Any],
        schema_version: FromQuery[int],
        app_version: FromQuery[str],
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int] = PULL_LIMIT_DEFAULT,
    ) -> PullResponse:
        device = _device(request)
        engine.check_versions(schema_version, app_version)
        if not 1 <= limit <= PULL_LIMIT_MAX:
            raise ValidationFailed(f"limit must be between 1 and {PULL_LIMIT_MAX}", field="limit")
        return await feed.pull(device=device, cursor=cursor, limit=limit)

    @get(
        "/conflicts",
        summary="Automatic conflict resolutions, newest first",
        opt=allow(Permission.sync_view),
    )
    async def conflicts(
        self,
        caller: NamedDependency[Caller],
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int | None] = None,
    ) -> Page[ConflictEntry]:
        return await reports.conflicts(
            restaurant_id=caller.restaurant_id,
            before=decode_id_cursor(cursor),
            limit=page_size(limit),
        )

    @get(
        "/quarantine",
        summary="Changes the server could not apply, newest first",
        opt=allow(Permission.sync_view),
    )
    async def quarantine(
        self,
        caller: NamedDependency[Caller],
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int | None] = None,
    ) -> Page[QuarantinedChange]:
        return await reports.quarantine(
            restaurant_id=caller.restaurant_id,
            before=decode_id_cursor(cursor),
            limit=page_size(limit),
        )
