"""Restaurants and their locations."""

from __future__ import annotations

from uuid import UUID, uuid4

import msgspec

from server.db import plain, scoped
from server.errors import NotFound, ValidationFailed
from server.pagination import Page, Position
from server.restaurants import schemas as s
from server.restaurants.tables import Location


async def currency_of(restaurant_id: UUID) -> str:
    """The ISO 4217 currency every amount of this restaurant is in."""
    rows = await plain.fetch("SELECT currency FROM restaurants WHERE id = $1", restaurant_id)
    if not rows:
        raise NotFound("no such restaurant")
    return str(rows[0]["currency"])


async def list_locations(
    *, restaurant_id: UUID, include_archived: bool, after: Position | None, limit: int
) -> Page[s.Location]:
    filters = [] if include_archived else [Location.archived == False]  # noqa: E712
    rows, cursor = await scoped.page(
        Location,
        restaurant_id=restaurant_id,
        filters=filters,
        sort=Location.created_at,
        after=after,
        limit=limit,
        newest_first=False,
    )
    return Page(items=msgspec.convert(rows, list[s.Location]), next_cursor=cursor)


async def get_location(*, restaurant_id: UUID, location_id: UUID) -> s.Location:
    row = await scoped.get_or_raise(Location, restaurant_id=restaurant_id, row_id=location_id)
    return msgspec.convert(row, s.Location)


async def create_location(*, restaurant_id: UUID, body: s.LocationCreate) -> s.Location:
    _check_timezone(body.timezone)
    location_id = body.id or uuid4()
    await scoped.refuse_taken_id(Location, location_id)
    row = await scoped.insert(
        Location,
        {**msgspec.structs.asdict(body), "id": location_id, "restaurant_id": restaurant_id},
    )
    return msgspec.convert(row, s.Location)


async def update_location(
    *, restaurant_id: UUID, location_id: UUID, body: s.LocationUpdate
) -> s.Location:
    values = scoped.changes(msgspec.structs.asdict(body))
    if "timezone" in values:
        _check_timezone(values["timezone"])
    row = await scoped.update_or_raise(
        Location, restaurant_id=restaurant_id, row_id=location_id, values=values
    )
    return msgspec.convert(row, s.Location)


def _check_timezone(name: str) -> None:
    if name not in s.TIME_ZONES:
        raise ValidationFailed("not an IANA time zone name", field="timezone")
