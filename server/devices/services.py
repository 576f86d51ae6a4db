"""Enrolling iPads (and enrolling one again as itself), listing them, and cutting off a lost one."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import msgspec

from server import events
from server.audit.services import record_system_event
from server.auth.tables import RefreshToken
from server.db import scoped
from server.db.engine import DB
from server.devices import schemas as s
from server.devices.errors import DeviceNotRecognised, DeviceRevoked
from server.devices.tables import Device, EnrolmentCode
from server.errors import NotAuthenticated, NotFound, ValidationFailed
from server.orders.tables import Order
from server.restaurants.tables import Location

# Crockford's base32 without I, L, O, U: easy to read aloud and type on an iPad.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CODE_LENGTH = 8  # 40 bits; with single use, expiry and rate limits, guessing is hopeless
DEVICE_SECRET_BYTES = 32  # 256 bits: never guessed, so a fast hash is enough to store it


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
    """A code that enrols a new iPad at a location."""
    await scoped.require_reference(
        Location, restaurant_id=restaurant_id, row_id=body.location_id, field="location_id"
    )
    return await _new_code(
        restaurant_id=restaurant_id,
        location_id=body.location_id,
        created_by=created_by,
        ttl_seconds=body.ttl_seconds,
        device_id=None,
    )


async def create_code_for_device(
    *, restaurant_id: UUID, created_by: UUID, device_id: UUID
) -> s.EnrolmentCode:
    """A code that enrols only this device again, and brings it back if it was revoked."""
    device = await scoped.get_or_raise(Device, restaurant_id=restaurant_id, row_id=device_id)
    return await _new_code(
        restaurant_id=restaurant_id,
        location_id=device["location_id"],
        created_by=created_by,
        ttl_seconds=s.CODE_TTL_DEFAULT,
        device_id=device_id,
    )


async def _new_code(
    *,
    restaurant_id: UUID,
    location_id: UUID,
    created_by: UUID,
    ttl_seconds: int,
    device_id: UUID | None,
) -> s.EnrolmentCode:
    code = "".join(secrets.choice(_ALPHABET) for _ in range(_CODE_LENGTH))
    expires_at = datetime.now(UTC) + timedelta(seconds=ttl_seconds)
    await EnrolmentCode.insert(
        EnrolmentCode(
            restaurant_id=restaurant_id,
            location_id=location_id,
            code_hash=_hash(code),
            created_by=created_by,
            expires_at=expires_at,
            for_device_id=device_id,
        )
    )
    readable = f"{code[:4]}-{code[4:]}"
    return s.EnrolmentCode(
        code=readable, location_id=location_id, expires_at=expires_at, device_id=device_id
    )


@dataclass(frozen=True)
class Enrolment:
    device: s.Device
    restaurant_id: UUID
    secret: str
    """The device secret, shown to the iPad once; only its hash is stored."""


async def enrol(*, code: str, name: str) -> tuple[s.Device, UUID]:
    """Enrol a new device with a code; for callers that never enrol it again (tests, bench)."""
    enrolment = await enrol_device(code=code, name=name)
    return enrolment.device, enrolment.restaurant_id


async def enrol_device(
    *,
    code: str,
    name: str,
    device_id: UUID | None = None,
    device_secret: str | None = None,
) -> Enrolment:
    """Spend a code (atomically, once) and enrol a device with it, with a new device secret.

    Without ``device_id`` a new device is created. With ``device_id`` and ``device_secret``
    the iPad enrols again as that device, which keeps its id, prefix and sync progress, so
    what it queued offline is still accepted; every refresh token it held before is
    revoked. That needs a code for the device's own location, and if a manager revoked the
    device, a code made for that very device. Any refusal leaves the code unspent.
    """
    if (device_id is None) != (device_secret is None):
        missing = "device_secret" if device_secret is None else "device_id"
        raise ValidationFailed(
            "to enrol again send device_id and device_secret together", field=missing
        )
    secret = secrets.token_urlsafe(DEVICE_SECRET_BYTES)
    async with DB.transaction():
        spent = await EnrolmentCode.raw(
            "UPDATE enrolment_codes SET used_at = now(), device_id = {}"
            " WHERE code_hash = {} AND used_at IS NULL AND expires_at > now()"
            " RETURNING restaurant_id, location_id, for_device_id, device_id",
            device_id or uuid4(),
            _hash(code),
        )
        if not spent:
            raise NotAuthenticated("this enrolment code is wrong, used or expired")
        if device_secret is None:
            row = await _new_device(spent[0], name=name, secret=secret)
        else:
            row = await _same_device(spent[0], device_secret, secret=secret)
    device = msgspec.convert(row, s.Device)
    restaurant_id: UUID = row["restaurant_id"]
    if device_id is not None:
        await record_system_event(
            restaurant_id=restaurant_id,
            action="devices.enrolled_again",
            target_type="device",
            target_id=str(device.id),
            details={"with_code_for_device": spent[0]["for_device_id"] is not None},
        )
    return Enrolment(device, restaurant_id, secret)


async def _new_device(spent: dict[str, Any], *, name: str, secret: str) -> dict[str, Any]:
    """A new device at the code's location, with the next free prefix and epoch."""
    if spent["for_device_id"] is not None:
        raise DeviceNotRecognised(
            "this code was made for an enrolled iPad; it enrols only that one"
        )
    location_id = spent["location_id"]
    # Serialise enrolments per location so prefixes and epochs never collide.
    await Device.raw("SELECT pg_advisory_xact_lock(hashtext({}))", str(location_id))
    enrolled = await Device.count().where(Device.location_id == location_id)
    return await scoped.insert(
        Device,
        {
            "id": spent["device_id"],
            "restaurant_id": spent["restaurant_id"],
            "location_id": location_id,
            "name": name,
            "prefix": await _free_prefix(location_id, enrolled),
            "epoch": enrolled + 1,
            "enrolled_at": datetime.now(UTC),
            "secret_hash": _secret_hash(secret),
        },
    )


async def _same_device(spent: dict[str, Any], proof: str, *, secret: str) -> dict[str, Any]:
    """The device the iPad proves it is, given back to it with a new secret.

    Locked first, as a refresh of its tokens locks it, so no refresh can slip a token past
    the revocation below.
    """
    device_id = spent["device_id"]
    rows = await Device.raw("SELECT * FROM devices WHERE id = {} FOR NO KEY UPDATE", device_id)
    row = rows[0] if rows else None
    proven = _secret_matches(None if row is None else row["secret_hash"], proof)
    if (
        row is None
        or not proven
        or row["restaurant_id"] != spent["restaurant_id"]
        or row["location_id"] != spent["location_id"]
        or spent["for_device_id"] not in (None, device_id)
    ):
        raise DeviceNotRecognised("this code, device id and secret do not enrol that device")
    if row["revoked_at"] is not None and spent["for_device_id"] != device_id:
        raise DeviceRevoked("a manager revoked this iPad; only a code made for it brings it back")
    now = datetime.now(UTC)
    # Whatever the old install held (a stolen copy included) stops working now.
    await RefreshToken.update({RefreshToken.revoked_at: now}).where(
        (RefreshToken.device_id == device_id) & RefreshToken.revoked_at.is_null()
    )
    updated = await Device.raw(
        "UPDATE devices SET secret_hash = {}, revoked_at = NULL WHERE id = {} RETURNING *",
        _secret_hash(secret),
        device_id,
    )
    return dict(updated[0])


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _secret_matches(stored: str | None, presented: str) -> bool:
    """Constant-time; a device enrolled before secrets existed (none stored) matches nothing."""
    expected = stored or "0" * 64
    return hmac.compare_digest(expected, _secret_hash(presented)) and stored is not None


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
