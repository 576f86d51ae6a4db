"""Sync over HTTP: push and pull for enrolled iPads; conflicts and quarantine for managers,
who read them and act on them (``remedies``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from server import domain_metrics
from server.auth.dependencies import allow
from server.auth.permissions import Permission
from server.auth.tokens import Caller
from server.devices.schemas import Device
from server.errors import ClientError, ValidationFailed
from server.pagination import Page, decode_id_cursor, page_size
from server.sync import engine, feed, remedies, reports
from server.sync.errors import (
    DeviceMismatch,
    QuarantineSettled,
    ResyncRequired,
    RetryFromRevokedDevice,
    SequenceGap,
    UpgradeRequired,
)
from server.sync.protocol import (
    PULL_LIMIT_DEFAULT,
    PULL_LIMIT_MAX,
    PullResponse,
    PushRequest,
    PushResponse,
)
from server.sync.registry import DeviceContext
from server.sync.reports import (
    CONFLICT_STATES,
    ENTITY_TYPE_PATTERN,
    QUARANTINE_STATES,
    ConflictEntry,
    Dismissal,
    Filters,
    QuarantinedChange,
    RetryAnswer,
)


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
        try:
            return await engine.push(device=_device(request), request=data)
        except ClientError:
            domain_metrics.record_push(accepted=False, outcomes=(), rules=())
            raise

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
    ) -> Response[PullResponse]:
        device = _device(request)
        engine.check_versions(schema_version, app_version)
        if not 1 <= limit <= PULL_LIMIT_MAX:
            raise ValidationFailed(f"limit must be between 1 and {PULL_LIMIT_MAX}", field="limit")
        page = await feed.pull(device=device, cursor=cursor, limit=limit)
        # The body is a PullResponse's JSON, its changes written by PostgreSQL and passed on
        # unparsed (feed.PullPage); the annotation gives the OpenAPI document its schema.
        body = msgspec.json.encode(page)
        return Response(body, media_type=MediaType.JSON)  # type: ignore[arg-type]

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
        device_id: FromQuery[UUID | None] = None,
        entity_type: Annotated[
            str | None, QueryParameter(pattern=ENTITY_TYPE_PATTERN, min_length=1, max_length=40)
        ] = None,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        in_state: Annotated[
            str | None, QueryParameter(name="state", description="new or acknowledged")
        ] = None,
    ) -> Page[ConflictEntry]:
        return await reports.conflicts(
            restaurant_id=caller.restaurant_id,
            before=decode_id_cursor(cursor),
            limit=page_size(limit),
            filters=Filters(device_id, entity_type, since, until, in_state, states=CONFLICT_STATES),
        )

    @get(
        "/conflicts/{conflict_id:int}",
        summary="One automatic conflict resolution",
        opt=allow(Permission.sync_view),
    )
    async def conflict(
        self, caller: NamedDependency[Caller], conflict_id: FromPath[int]
    ) -> ConflictEntry:
        return await reports.read_conflict(
            restaurant_id=caller.restaurant_id, conflict_id=conflict_id
        )

    @post(
        "/conflicts/{conflict_id:int}/acknowledge",
        status_code=200,
        summary="Mark a conflict as seen (repeating it answers the same)",
        opt=allow(Permission.sync_manage),
    )
    async def acknowledge_conflict(
        self, caller: NamedDependency[Caller], conflict_id: FromPath[int]
    ) -> ConflictEntry:
        return await remedies.acknowledge(caller=caller, conflict_id=conflict_id)

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
        device_id: FromQuery[UUID | None] = None,
        entity_type: Annotated[
            str | None, QueryParameter(pattern=ENTITY_TYPE_PATTERN, min_length=1, max_length=40)
        ] = None,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        in_state: Annotated[
            str | None, QueryParameter(name="state", description="open, dismissed or applied")
        ] = None,
    ) -> Page[QuarantinedChange]:
        return await reports.quarantine(
            restaurant_id=caller.restaurant_id,
            before=decode_id_cursor(cursor),
            limit=page_size(limit),
            filters=Filters(
                device_id, entity_type, since, until, in_state, states=QUARANTINE_STATES
            ),
        )

    @get(
        "/quarantine/{quarantine_id:int}",
        summary="One change the server could not apply",
        opt=allow(Permission.sync_view),
    )
    async def quarantined(
        self, caller: NamedDependency[Caller], quarantine_id: FromPath[int]
    ) -> QuarantinedChange:
        return await reports.read_quarantined(
            restaurant_id=caller.restaurant_id, quarantine_id=quarantine_id
        )

    @post(
        "/quarantine/{quarantine_id:int}/dismiss",
        status_code=200,
        summary="Dismiss a quarantined change for good, with a reason its device is told",
        opt={**allow(Permission.sync_manage), "errors": (QuarantineSettled,)},
    )
    async def dismiss_quarantined(
        self,
        caller: NamedDependency[Caller],
        quarantine_id: FromPath[int],
        data: JSONBody[Dismissal],
    ) -> QuarantinedChange:
        return await remedies.dismiss(
            caller=caller, quarantine_id=quarantine_id, reason=data.reason
        )

    @post(
        "/quarantine/{quarantine_id:int}/retry",
        status_code=200,
        summary="Apply a quarantined change again after a fix, as the device that made it",
        opt={
            **allow(Permission.sync_manage),
            "errors": (QuarantineSettled, RetryFromRevokedDevice),
        },
    )
    async def retry_quarantined(
        self, caller: NamedDependency[Caller], quarantine_id: FromPath[int]
    ) -> RetryAnswer:
        return await remedies.retry(caller=caller, quarantine_id=quarantine_id)
