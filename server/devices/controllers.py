"""Enrolment and device management."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from server.auth import ratelimit, sessions
from server.auth.dependencies import PUBLIC, allow
from server.auth.permissions import Permission
from server.auth.tokens import Caller
from server.devices import schemas as s
from server.devices import services
from server.errors import Forbidden
from server.settings import get_settings


class DeviceController(Controller):
    path = "/api/v1/devices"
    tags = ["devices"]

    @post(
        "/enrolment-codes",
        summary="A one-time code to enrol an iPad at a location",
        opt=allow(Permission.devices_enrol),
    )
    async def create_enrolment_code(
        self, caller: NamedDependency[Caller], data: JSONBody[s.EnrolmentCodeCreate]
    ) -> s.EnrolmentCode:
        if caller.user_id is None and caller.employee_id is None:
            raise Forbidden("a person must create enrolment codes")
        return await services.create_enrolment_code(
            restaurant_id=caller.restaurant_id,
            created_by=caller.user_id or caller.employee_id,  # type: ignore[arg-type]
            body=data,
        )

    @post(
        "/enroll",
        summary="Exchange an enrolment code for a device identity and tokens",
        opt=PUBLIC,
        security=[],
    )
    async def enroll(
        self, request: Request[Any, Any, Any], data: JSONBody[s.Enrol]
    ) -> s.DeviceTokens:
        limiter: ratelimit.RateLimiter = request.app.state.limiter
        await limiter.hit(ratelimit.ENROL_PER_CLIENT, ratelimit.client_address(request))
        device, restaurant_id = await services.enrol(code=data.code, name=data.name)
        pair = await sessions.device_pair(
            request.app.state.signing_keys,
            get_settings(),
            restaurant_id=restaurant_id,
            device_id=device.id,
            location_id=device.location_id,
        )
        return s.DeviceTokens(
            device=device,
            access_token=pair.access_token,
            refresh_token=pair.refresh_token,
            token_type=pair.token_type,
            expires_in=pair.expires_in,
        )

    @get(summary="Enrolled devices", opt=allow(Permission.devices_manage))
    async def list_devices(
        self, caller: NamedDependency[Caller], location_id: FromQuery[UUID | None] = None
    ) -> list[s.Device]:
        return await services.list_devices(
            restaurant_id=caller.restaurant_id, location_id=location_id
        )

    @get("/{device_id:uuid}", opt=allow(Permission.devices_manage))
    async def get_device(
        self, caller: NamedDependency[Caller], device_id: FromPath[UUID]
    ) -> s.Device:
        return await services.get_device(restaurant_id=caller.restaurant_id, device_id=device_id)

    @post(
        "/{device_id:uuid}/revoke",
        status_code=200,
        summary="Cut off a lost or retired iPad at once",
        opt=allow(Permission.devices_manage),
    )
    async def revoke_device(
        self, caller: NamedDependency[Caller], device_id: FromPath[UUID]
    ) -> s.Device:
        return await services.revoke(restaurant_id=caller.restaurant_id, device_id=device_id)
