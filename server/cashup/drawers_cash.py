"""What a drawer session holds: its float, the cash attached to it and its movements, summed
line by line into the expected cash (``drawers_rules``: the rules, in words)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from server.cashup.drawers_rules import Expected, Window, session_of
from server.payments.cash_flows import CashFlow, cash_flows

SESSION_COLUMNS = (
    "s.id, s.restaurant_id, s.location_id, s.drawer_id, d.name AS drawer_name, s.currency,"
    " s.status, s.merged_into, s.opened_at, s.opened_by, s.opened_device_id, s.opening_float,"
    " s.float_counts, s.closed_at, s.closed_by, s.counts, s.counted_cash, s.expected_cash,"
    " s.over_short, s.threshold, s.flagged, s.close_id"
)
SESSION_FROM = "drawer_sessions s JOIN cash_drawers d ON d.id = s.drawer_id"


@dataclass(frozen=True)
class Reckoning:
    """A session's cash as the rules attach it, and the expected sum it makes."""

    expected: Expected
    members: list[asyncpg.Record]
    """The sessions merged into it (another iPad opened the same drawer)."""
    movements: list[tuple[asyncpg.Record, bool]]
    """Each movement of the session or its members, and whether it counts (made before the
    close; one made after is kept and flagged)."""
    cash: list[CashFlow]


def counts_of(value: Any) -> dict[str, int]:
    return dict(json.loads(value)) if isinstance(value, str) else dict(value or {})


async def windows(
    conn: asyncpg.Connection,
    restaurant_id: UUID,
    location_id: UUID,
    start: datetime,
    end: datetime | None,
) -> list[Window]:
    """The sessions at a location open at some time from ``start`` until ``end``."""
    rows = await conn.fetch(
        "SELECT s.id, owner.id AS belongs_to, s.opened_device_id, s.opened_at,"
        " owner.closed_at AS until FROM drawer_sessions s"
        " JOIN drawer_sessions owner ON owner.id = coalesce(s.merged_into, s.id)"
        " WHERE s.restaurant_id = $1 AND s.location_id = $2"
        " AND ($4::timestamptz IS NULL OR s.opened_at < $4)"
        " AND (owner.closed_at IS NULL OR owner.closed_at > $3)",
        restaurant_id,
        location_id,
        start,
        end,
    )
    return [
        Window(
            session_id=row["id"],
            belongs_to=row["belongs_to"],
            device_id=row["opened_device_id"],
            opened_at=row["opened_at"],
            until=row["until"],
        )
        for row in rows
    ]


async def reckon(
    conn: asyncpg.Connection, session: asyncpg.Record, *, until: datetime | None
) -> Reckoning:
    """The expected cash of ``session`` (one that is not merged) up to ``until``: its close,
    or None while it is open."""
    members = await conn.fetch(
        "SELECT id, opened_at, opened_device_id, opening_float FROM drawer_sessions"
        " WHERE merged_into = $1 ORDER BY opened_at, id",
        session["id"],
    )
    start = min([session["opened_at"], *(member["opened_at"] for member in members)])
    around = await windows(conn, session["restaurant_id"], session["location_id"], start, until)
    devices = sorted({w.device_id for w in around if w.device_id is not None})
    flows = await cash_flows(
        conn, session["restaurant_id"], session["location_id"], start, until, devices
    )
    cash = [flow for flow in flows if session_of(flow.device_id, flow.at, around) == session["id"]]
    rows = await conn.fetch(
        "SELECT id, session_id, kind, amount, reason, employee_id, approved_by, device_id, at"
        " FROM drawer_movements WHERE session_id = ANY($1::uuid[]) ORDER BY at, id",
        [session["id"], *(member["id"] for member in members)],
    )
    movements = [(row, until is None or row["at"] < until) for row in rows]
    counted = [row for row, counts in movements if counts]
    expected = Expected(
        opening_float=session["opening_float"],
        cash_sales=sum(flow.amount for flow in cash if flow.kind == "sale"),
        cash_refunds=sum(flow.amount for flow in cash if flow.kind == "refund"),
        paid_in=sum(row["amount"] for row in counted if row["kind"] == "paid_in"),
        paid_out=sum(row["amount"] for row in counted if row["kind"] == "paid_out"),
    )
    return Reckoning(expected=expected, members=list(members), movements=movements, cash=cash)


async def outside_sessions(
    conn: asyncpg.Connection,
    restaurant_id: UUID,
    location_id: UUID,
    start: datetime,
    end: datetime,
) -> list[CashFlow]:
    """Cash taken or refunded at a location with no drawer session open on its iPad."""
    around = await windows(conn, restaurant_id, location_id, start, end)
    flows = await cash_flows(conn, restaurant_id, location_id, start, end)
    return [flow for flow in flows if session_of(flow.device_id, flow.at, around) is None]
