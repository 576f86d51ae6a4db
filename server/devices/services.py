"""Enrolling iPads, listing them, and cutting off a lost one."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import msgspec

from server import events
from server.auth.tables import RefreshToken
from server.db import scoped
from server.db.engine import DB
from server.devices import schemas as s
from server.devices.tables import Device, EnrolmentCode
from server.errors import NotAuthenticated, NotFound
from server.orders.tables import Order
from server.restaurants.tables import Location

# Crockford's base32 without I, L, O, U: easy to read aloud and type on an iPad.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CODE_LENGTH = 8  # 40 bits; with single use, expiry and rate limits, guessing is hopeless


def _hash(code: str) -> str:
    normalised = code.strip().upper().replace("-", "").replace(" ", "")
    return hashlib.sha256(normalised.encode()).hexdigest()


def _prefix(index: int) -> str:
    """A, B, ..., Z, AA, AB, ...: the n-th device's order-number prefix at a location."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


async def create_enrolment_code(
    *, restaurant_id: UUID, created_by: UUID, body: s.EnrolmentCodeCreate
) -> s.EnrolmentCode:
    await scoped.require_reference(
        Location, restaurant_id=restaurant_id, row_id=body.location_id, field="location_id"
    )
    code = "".join(secrets.choice(_ALPHABET) for _ in range(_CODE_LENGTH))
    expires_at = datetime.now(UTC) + timedelta(seconds=body.ttl_seconds)
    await EnrolmentCode.insert(
        EnrolmentCode(
            restaurant_id=restaurant_id,
            location_id=body.location_id,
            code_hash=_hash(code),
            created_by=created_by,
            expires_at=expires_at,
        )
    )
    readable = f"{code[:4]}-{code[4:]}"
    return s.EnrolmentCode(code=readable, location_id=body.location_id, expires_at=expires_at)


async def enrol(*, code: str, name: str) -> tuple[s.Device, UUID]:
    """Spend a code (atomically, once) and create the device it enrols; also its restaurant."""
    device_id = uuid4()
    async with DB.transaction():
        spent = await EnrolmentCode.raw(
            "UPDATE enrolment_codes SET used_at = now(), device_id = {}"
            " WHERE code_hash = {} AND used_at IS NULL AND expires_at > now()"
            " RETURNING restaurant_id, location_id",
            device_id,
            _hash(code),
        )
        if not spent:
            raise NotAuthenticated("this enrolment code is wrong, used or expired")
        restaurant_id, location_id = spent[0]["restaurant_id"], spent[0]["location_id"]
        # Serialise enrolments per location so prefixes and epochs never collide.
        await Device.raw("SELECT pg_advisory_xact_lock(hashtext({}))", str(location_id))
        enrolled = await Device.count().where(Device.location_id == location_id)
        row = await scoped.insert(
            Device,
            {
                "id": device_id,
                "restaurant_id": restaurant_id,
                "location_id": location_id,
                "name": name,
                "prefix": await _free_prefix(location_id, enrolled),
                "epoch": enrolled + 1,
                "enrolled_at": datetime.now(UTC),
            },
        )
    return msgspec.convert(row, s.Device), restaurant_id


async def _free_prefix(location_id: UUID, start: int) -> str:
    """The first prefix from ``start`` on that no device (or demo order) at the location uses."""
    taken_rows = await Device.select(Device.prefix).where(Device.location_id == location_id)
    taken = {row["prefix"] for row in taken_rows}
    taken |= await _prefixes_in_orders(location_id)
    index = start
    while _prefix(index) in taken:
        index += 1
    return _prefix(index)


async def _prefixes_in_orders(location_id: UUID) -> set[str]:
    rows = (
        await Order.select(Order.device_prefix).where(Order.location_id == location_id).distinct()
    )
    return {row["device_prefix"] for row in rows}


async def list_devices(*, restaurant_id: UUID, location_id: UUID | None) -> list[s.Device]:
    query = Device.select().where(Device.restaurant_id == restaurant_id)
    if location_id is not None:
        query = query.where(Device.location_id == location_id)
    rows = await query.order_by(Device.enrolled_at)
    return msgspec.convert(rows, list[s.Device])


async def get_device(*, restaurant_id: UUID, device_id: UUID) -> s.Device:
    row = await scoped.get_or_raise(Device, restaurant_id=restaurant_id, row_id=device_id)
    return msgspec.convert(row, s.Device)


async def revoke(*, restaurant_id: UUID, device_id: UUID) -> s.Device:
    """Cut a device off at once: it, and every refresh token it holds, stop working."""
    now = datetime.now(UTC)
    async with DB.transaction():
        rows = await Device.raw(
            "UPDATE devices SET revoked_at = coalesce(revoked_at, {})"
            " WHERE id = {} AND restaurant_id = {} RETURNING *",
            now,
            device_id,
            restaurant_id,
        )
        if not rows:
            raise NotFound("no such device")
        await RefreshToken.update({RefreshToken.revoked_at: now}).where(
            (RefreshToken.device_id == device_id) & RefreshToken.revoked_at.is_null()
        )
    # Its open real-time sockets close at once, on whichever server holds them.
    await events.announce(
        events.DeviceRevoked(restaurant_id=str(restaurant_id), device_id=str(device_id))
    )
    return msgspec.convert(rows[0], s.Device)


async def require_active_device(*, restaurant_id: UUID, device_id: UUID) -> s.Device:
    """The device a token names, if it is still enrolled; revoked or unknown is a 401."""
    row = (
        await Device.select()
        .where((Device.id == device_id) & (Device.restaurant_id == restaurant_id))
        .first()
    )
    if row is None or row["revoked_at"] is not None:
        raise NotAuthenticated("this device is not enrolled")
    return msgspec.convert(row, s.Device)
