"""A location's business day and its figures, read in one snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from uuid import UUID

import asyncpg

from server.cashup.drawers import drawer_summary
from server.errors import NotFound
from server.reports import day_figures, day_queries
from server.reports import schemas as s
from server.reports.day_queries import Scope
from server.timeclock.services import business_day, day_bounds, load_settings


@dataclass(frozen=True)
class Place:
    """A location of the restaurant, with what its days need."""

    location_id: UUID
    timezone: str
    currency: str
    day_starts_at: time

    def bounds(self, day: date) -> tuple[datetime, datetime]:
        return day_bounds(day, self.timezone, self.day_starts_at)

    def today(self, now: datetime) -> date:
        return business_day(now, self.timezone, self.day_starts_at)


async def place(conn: asyncpg.Connection, restaurant_id: UUID, location_id: UUID) -> Place:
    """The location, if it is this restaurant's (another's answers as a missing one)."""
    row = await conn.fetchrow(
        "SELECT l.timezone, r.currency FROM locations l JOIN restaurants r"
        " ON r.id = l.restaurant_id WHERE l.id = $1 AND l.restaurant_id = $2",
        location_id,
        restaurant_id,
    )
    if row is None:
        raise NotFound("no such location", field="location_id")
    settings = await load_settings(conn, restaurant_id)
    return Place(location_id, row["timezone"], row["currency"].strip(), settings.day_starts_at)


async def figures(
    conn: asyncpg.Connection, restaurant_id: UUID, where: Place, day: date
) -> s.DayFigures:
    """The day's figures from orders, payments, refunds, voids and drawer sessions alone."""
    scope = Scope(restaurant_id, where.location_id, day, day, where.day_starts_at)
    rows = day_figures.DayRows(
        sales=await day_queries.sales(conn, scope),
        takings=await day_queries.takings(conn, scope),
        refunds=await day_queries.refunds(conn, scope),
        voids=await day_queries.voids(conn, scope),
        drawers=await drawer_summary(
            conn, restaurant_id, where.location_id, day, day, where.day_starts_at
        ),
    )
    starts_at, ends_at = where.bounds(day)
    return day_figures.day_figures(
        rows,
        location_id=where.location_id,
        business_day=day,
        currency=where.currency,
        starts_at=starts_at,
        ends_at=ends_at,
    )


async def open_orders(
    conn: asyncpg.Connection, restaurant_id: UUID, where: Place, before: datetime
) -> list[s.OpenOrder]:
    rows = await day_queries.open_orders(conn, restaurant_id, where.location_id, before)
    return [s.OpenOrder(**dict(row)) for row in rows]
