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
from server.devices.errors import DeviceNotRecognised, DeviceRevoked
from server.errors import Forbidden
from server.settings import get_settings

# Further refusals, so the OpenAPI document lists them (see server/openapi.py).
ENROL_ERRORS = (DeviceNotRecognised, DeviceRevoked)


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
        "/{device_id:uuid}/enrolment-codes",
        summary="A one-time code that enrols this iPad again, even if it was revoked",
        description=(
            "The iPad enrols with it as itself (sending its `device_id` and `device_secret`), "
            "keeping its id, prefix and sync progress. The only way back for a revoked iPad; "
            "it enrols no other. Valid 15 minutes."
        ),
        opt=allow(Permission.devices_manage),
    )
    async def create_code_for_device(
        self, caller: NamedDependency[Caller], device_id: FromPath[UUID]
    ) -> s.EnrolmentCode:
        if caller.user_id is None and caller.employee_id is None:
            raise Forbidden("a person must create enrolment codes")
        return await services.create_code_for_device(
            restaurant_id=caller.restaurant_id,
            created_by=caller.user_id or caller.employee_id,  # type: ignore[arg-type]
            device_id=device_id,
        )

    @post(
        "/enroll",
        summary="Exchange an enrolment code for a device identity and tokens",
        description=(
            "A new iPad sends the code alone and becomes a new device. An iPad enrolling "
            "again sends its `device_id` and `device_secret` too and gets back the same "
            "device: its id, prefix and sync progress, so what it queued offline is accepted."
        ),
        opt={**PUBLIC, "errors": ENROL_ERRORS},
        security=[],
    )
    async def enroll(
        self, request: Request[Any, Any, Any], data: JSONBody[s.Enrol]
    ) -> s.DeviceTokens:
        limiter: ratelimit.RateLimiter = request.app.state.limiter
        await limiter.hit(ratelimit.ENROL_PER_CLIENT, ratelimit.client_address(request))
        enrolment = await services.enrol_device(
            code=data.code,
            name=data.name,
            device_id=data.device_id,
            device_secret=data.device_secret,
        )
        device = enrolment.device
        pair = await sessions.device_pair(
            request.app.state.signing_keys,
            get_settings(),
            restaurant_id=enrolment.restaurant_id,
            device_id=device.id,
            location_id=device.location_id,
        )
        return s.DeviceTokens(
            device=device,
            device_secret=enrolment.secret,
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
