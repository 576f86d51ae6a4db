"""Keyset pagination: an opaque cursor naming the last row seen, and a capped page size."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Generic, TypeVar
from uuid import UUID

import msgspec

from server.errors import ValidationFailed
from server.settings import get_settings
from server.wire import Wire

T = TypeVar("T")


class Page(Wire, Generic[T]):
    """One page of a list; pass ``next_cursor`` back as ``cursor`` for the next one."""

    items: list[T]
    next_cursor: str | None


class Position(msgspec.Struct, array_like=True, frozen=True):
    """Where a page ended: the sort key of its last row and the row's id as a tie-break."""

    at: datetime
    id: UUID


# Instants outside this range are typos or probes; PostgreSQL and Python overflow near year 1.
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(9999, 1, 1, tzinfo=UTC)


def check_instant(value: datetime | None, *, field: str) -> datetime | None:
    """A filter instant must carry its time zone and be a plausible date."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationFailed("include a time zone offset, e.g. 2026-11-26T18:00:00Z", field=field)
    try:
        in_range = _EARLIEST <= value <= _LATEST
    except OverflowError:
        in_range = False
    if not in_range:
        raise ValidationFailed("date out of range (1970 to 9999)", field=field)
    return value


def page_size(limit: int | None) -> int:
    """The page size asked for, or the default; out-of-range is a 400 naming ``limit``."""
    settings = get_settings()
    if limit is None:
        return settings.page_size_default
    if not 1 <= limit <= settings.page_size_max:
        raise ValidationFailed(
            f"limit must be between 1 and {settings.page_size_max}", field="limit"
        )
    return limit


def decode_id_cursor(cursor: str | None) -> int | None:
    """The id a newest-first page of an append-only log ended at (its ids only grow)."""
    if cursor is None:
        return None
    # ASCII digits only: str.isdigit() also accepts "²", which int() refuses.
    if not (cursor.isascii() and cursor.isdigit()) or len(cursor) > 19:
        raise ValidationFailed("cursor is not one this server issued", field="cursor")
    return int(cursor)


def encode_cursor(position: Position) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(position)).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Position | None:
    """The position a cursor names; a cursor we did not make is a 400 naming ``cursor``."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = msgspec.json.decode(raw, type=Position)
        check_instant(position.at, field="cursor")
        return position
    except (binascii.Error, ValueError, msgspec.DecodeError) as exc:
        raise ValidationFailed("cursor is not one this server issued", field="cursor") from exc
