"""Reading drawer sessions: a manager's list by business day with the cash outside any
session, and one session with its expected cash line by line; a cashier's own open session,
blind (no expected figure, nor the cash it is made of).

Figures are worked out from the facts each time they are read (float, attached cash,
movements, count), so cash an offline iPad syncs after the close still lands where the
rules put it; ``expected_at_close`` keeps what the server said when the drawer was closed,
and a difference between the two is flagged ``late_cash``.
"""

from __future__ import annotations

from datetime import date, datetime, time
from uuid import UUID

import asyncpg
import msgspec

from server.auth.permissions import DEVICE, Permission, decide
from server.auth.tokens import Caller
from server.cashup import drawers_cash as cash
from server.cashup import drawers_schemas as s
from server.cashup.drawers_rules import count_total, is_flagged, over_short
from server.db import engine
from server.errors import NotFound
from server.payments.cash_flows import CashFlow
from server.sync import store
from server.timeclock.services import business_day, day_bounds, load_settings


def manages(caller: Caller) -> bool:
    return decide(Permission.drawer_manage, caller.role or DEVICE) == "allow"


async def list_sessions(
    *, caller: Caller, start: date, end: date, location_id: UUID | None
) -> s.DrawerSessions:
    """Sessions opened on business days ``start`` to ``end`` at each location (the caller's
    only, on an iPad), and the cash taken on those days outside any session."""
    async with engine.connection() as conn:
        day_starts_at = (await load_settings(conn, caller.restaurant_id)).day_starts_at
        locations = await conn.fetch(
            "SELECT id, timezone FROM locations WHERE restaurant_id = $1"
            " AND ($2::uuid IS NULL OR id = $2) ORDER BY id",
            caller.restaurant_id,
            caller.location_id or location_id,
        )
        items: list[s.DrawerSession] = []
        outside: list[s.AttachedCash] = []
        for location in locations:
            since, _ = day_bounds(start, location["timezone"], day_starts_at)
            _, until = day_bounds(end, location["timezone"], day_starts_at)
            rows = await conn.fetch(
                f"SELECT {cash.SESSION_COLUMNS} FROM {cash.SESSION_FROM}"
                " WHERE s.restaurant_id = $1 AND s.location_id = $2"
                " AND s.opened_at >= $3 AND s.opened_at < $4 ORDER BY s.opened_at, s.id",
                caller.restaurant_id,
                location["id"],
                since,
                until,
            )
            for row in rows:
                detail = await _detail(conn, row, location["timezone"], day_starts_at)
                items.append(_header(detail))
            flows = await cash.outside_sessions(
                conn, caller.restaurant_id, location["id"], since, until
            )
            outside += [_attached(flow, None) for flow in flows]
    return s.DrawerSessions(items=items, cash_outside_sessions=outside)


async def get_session(*, caller: Caller, session_id: UUID) -> s.DrawerSessionDetail:
    """One session in full for a manager; for anyone else who uses a drawer, their
    location's open session, blind. Anything else answers as missing."""
    async with engine.connection() as conn:
        row = await conn.fetchrow(
            f"SELECT {cash.SESSION_COLUMNS}, l.timezone FROM {cash.SESSION_FROM}"
            " JOIN locations l ON l.id = s.location_id"
            " WHERE s.id = $1 AND s.restaurant_id = $2"
            " AND ($3::uuid IS NULL OR s.location_id = $3)",
            session_id,
            caller.restaurant_id,
            caller.location_id,
        )
        full = manages(caller)
        if row is None or not (full or (caller.location_id and row["status"] == "open")):
            raise NotFound("no such drawer session")
        day_starts_at = (await load_settings(conn, caller.restaurant_id)).day_starts_at
        detail = await _detail(conn, row, row["timezone"], day_starts_at)
    return detail if full else _blind(detail)


async def _detail(
    conn: asyncpg.Connection, row: asyncpg.Record, zone: str, day_starts_at: time
) -> s.DrawerSessionDetail:
    flags: list[str] = []
    lines: list[s.ExpectedLine] = []
    movements: list[s.Movement] = []
    attached: list[s.AttachedCash] = []
    members: list[asyncpg.Record] = []
    expected = difference = None
    flagged: bool | None = None
    if row["status"] != "merged":
        reckoning = await cash.reckon(conn, row, until=row["closed_at"])
        members = reckoning.members
        e = reckoning.expected
        lines = [
            s.ExpectedLine(label="opening float", sign="+", amount=e.opening_float),
            s.ExpectedLine(label="cash sales, with cash tips", sign="+", amount=e.cash_sales),
            s.ExpectedLine(label="cash refunds", sign="-", amount=e.cash_refunds),
            s.ExpectedLine(label="paid in", sign="+", amount=e.paid_in),
            s.ExpectedLine(label="paid out", sign="-", amount=e.paid_out),
        ]
        expected = e.total
        movements = [_movement(m, counted) for m, counted in reckoning.movements]
        attached = [_attached(flow, row["id"]) for flow in reckoning.cash]
        if row["status"] == "closed":
            difference = over_short(row["counted_cash"], expected)
            flagged = is_flagged(difference, row["threshold"])
            if expected != row["expected_cash"]:
                flags.append("late_cash")
        if members:
            flags.append("merged_floats")
        if not all(counted for _, counted in reckoning.movements):
            flags.append("movement_after_close")
    extra = await _extra_closes(conn, row, [m["id"] for m in members])
    if extra:
        flags.append("extra_close")
    return s.DrawerSessionDetail(
        id=row["id"],
        location_id=row["location_id"],
        drawer_id=row["drawer_id"],
        drawer_name=row["drawer_name"],
        currency=row["currency"],
        status=row["status"],
        merged_into=row["merged_into"],
        opened_at=row["opened_at"],
        opened_by=row["opened_by"],
        opened_device_id=row["opened_device_id"],
        opening_float=row["opening_float"],
        float_counts=cash.counts_of(row["float_counts"]),
        business_day=business_day(row["opened_at"], zone, day_starts_at),
        closed_at=row["closed_at"],
        closed_by=row["closed_by"],
        counts=None if row["counts"] is None else cash.counts_of(row["counts"]),
        counted_cash=row["counted_cash"],
        expected_cash=expected,
        over_short=difference,
        threshold=row["threshold"],
        flagged=flagged,
        flags=sorted(flags),
        merged_sessions=[m["id"] for m in members],
        merged_floats=sum(m["opening_float"] for m in members),
        expected_lines=lines,
        movements=movements,
        cash=attached,
        extra_closes=extra,
        expected_at_close=row["expected_cash"],
    )


def _blind(detail: s.DrawerSessionDetail) -> s.DrawerSessionDetail:
    """An open session as the person counting it sees it: no expected figure, nor the cash
    sales and refunds that would give it away."""
    return msgspec.structs.replace(
        detail,
        expected_cash=None,
        over_short=None,
        flagged=None,
        merged_sessions=[],
        merged_floats=0,
        expected_lines=[],
        cash=[],
        extra_closes=[],
        expected_at_close=None,
    )


def _header(detail: s.DrawerSessionDetail) -> s.DrawerSession:
    return msgspec.convert(detail, s.DrawerSession, from_attributes=True)


async def _extra_closes(
    conn: asyncpg.Connection, row: asyncpg.Record, members: list[UUID]
) -> list[s.ExtraClose]:
    """Closes naming this session (or one merged into it) other than the one that counted."""
    closes = await store.children(
        conn, row["restaurant_id"], "drawer_close", "session_id", [row["id"], *members]
    )
    return sorted(
        (
            s.ExtraClose(
                id=close.entity_id,
                counted_cash=count_total(close.data["counts"]),
                at=datetime.fromisoformat(close.data["at"]),
                employee_id=close.data.get("employee_id"),
                device_id=close.data.get("device_id"),
            )
            for close in closes
            if close.entity_id != row["close_id"]
        ),
        key=lambda close: (close.at, close.id),
    )


def _movement(row: asyncpg.Record, counted: bool) -> s.Movement:
    return s.Movement(**dict(row), counted=counted)


def _attached(flow: CashFlow, session_id: UUID | None) -> s.AttachedCash:
    return s.AttachedCash(
        kind=flow.kind,
        id=flow.id,
        payment_id=flow.payment_id,
        amount=flow.amount,
        at=flow.at,
        device_id=flow.device_id,
        session_id=session_id,
    )
