"""What managers read: the conflict log and the quarantine, with what was done about each."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, get_args
from uuid import UUID

import asyncpg
from msgspec import Meta

from server.db.engine import connection
from server.errors import NotFound, ValidationFailed
from server.pagination import Page, check_instant
from server.sync.protocol import Outcome
from server.wire import Input, Wire

QuarantineState = Literal["open", "dismissed", "applied"]
ConflictState = Literal["new", "acknowledged"]
QUARANTINE_STATES: tuple[str, ...] = get_args(QuarantineState)
CONFLICT_STATES: tuple[str, ...] = get_args(ConflictState)
ENTITY_TYPE_PATTERN = r"^[a-z_]+$"

_BIGINT_MAX = 2**63 - 1


class QuarantinedChange(Wire, kw_only=True):
    """A change the server refused, kept whole, and what a manager did about it."""

    id: int
    at: datetime
    device_id: UUID
    location_id: UUID
    batch_id: UUID
    seq: int
    entity_type: str
    entity_id: UUID
    change: dict[str, Any]
    reason: str
    """Why it was refused: its latest refusal, if it was retried."""
    detail: str
    state: QuarantineState
    """open; dismissed (a manager decided it will never apply; the device hears of it in its
    pull); applied (retried after a fix and accepted: its entity is in every iPad's feed)."""
    settled_at: datetime | None
    settled_by: UUID | None
    """The back-office user who dismissed it, or whose retry applied it."""
    dismissal_reason: str | None
    retries: int
    retried_at: datetime | None
    retried_by: UUID | None
    retry_outcome: Outcome | None
    """What the latest retry answered: ``rejected`` when it is still refused."""


class ConflictEntry(Wire, kw_only=True):
    """A concurrent edit the server merged on its own, and whether a manager has seen it."""

    id: int
    at: datetime
    location_id: UUID | None
    entity_type: str
    entity_id: UUID
    device_id: UUID
    rule: str
    current: dict[str, Any]
    incoming: dict[str, Any]
    outcome: dict[str, Any]
    state: ConflictState
    acknowledged_at: datetime | None
    acknowledged_by: UUID | None


class Dismissal(Input, kw_only=True):
    reason: Annotated[str, Meta(min_length=1, max_length=500)]
    """Why it will never apply, for the staff on the iPad that made it and for the audit."""


class RetryAnswer(Wire, kw_only=True):
    outcome: Outcome
    """What the engine answered: applied, merged or stale (settled; ``applied`` state), or
    rejected (still refused: ``quarantined.reason`` says why)."""
    quarantined: QuarantinedChange


@dataclass(frozen=True)
class Filters:
    """What a manager narrows a list to; None leaves that side open."""

    device_id: UUID | None = None
    entity_type: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    state: str | None = None
    states: tuple[str, ...] = ()
    """The states the list knows (``state`` is read as text: Litestar keeps the name)."""

    def __post_init__(self) -> None:
        check_instant(self.since, field="since")
        check_instant(self.until, field="until")
        if self.state is not None and self.state not in self.states:
            raise ValidationFailed(f"state must be one of {', '.join(self.states)}", field="state")


_QUARANTINE = (
    "SELECT id, at, device_id, location_id, batch_id, seq, change->>'entity_type' AS entity_type,"
    " (change->>'entity_id')::uuid AS entity_id, change, reason, detail, state, settled_at,"
    " settled_by, dismissal_reason, retries, retried_at, retried_by, retry_outcome"
    " FROM sync_quarantine"
)
_CONFLICTS = (
    "SELECT id, at, location_id, entity_type, entity_id, device_id, rule, current, incoming,"
    " outcome, state, acknowledged_at, acknowledged_by FROM sync_conflicts"
)
_FILTERED = (
    " WHERE restaurant_id = $1 AND ($2::bigint IS NULL OR id < $2)"
    " AND ($3::uuid IS NULL OR device_id = $3) AND ($4::text IS NULL OR {entity_type} = $4)"
    " AND ($5::timestamptz IS NULL OR at >= $5) AND ($6::timestamptz IS NULL OR at < $6)"
    " AND ($7::text IS NULL OR state = $7) ORDER BY id DESC LIMIT $8"
)


async def conflicts(
    *, restaurant_id: UUID, before: int | None, limit: int, filters: Filters
) -> Page[ConflictEntry]:
    """Newest first; ``before`` is the id the previous page ended at."""
    where = _FILTERED.format(entity_type="entity_type")
    rows = await _fetch(_CONFLICTS + where, restaurant_id, before, limit, filters)
    return Page(items=[conflict(row) for row in rows[:limit]], next_cursor=_next(rows, limit))


async def quarantine(
    *, restaurant_id: UUID, before: int | None, limit: int, filters: Filters
) -> Page[QuarantinedChange]:
    """Newest first; ``before`` is the id the previous page ended at."""
    where = _FILTERED.format(entity_type="change->>'entity_type'")
    rows = await _fetch(_QUARANTINE + where, restaurant_id, before, limit, filters)
    return Page(items=[quarantined(row) for row in rows[:limit]], next_cursor=_next(rows, limit))


async def get_conflict(
    conn: asyncpg.Connection, *, restaurant_id: UUID, conflict_id: int, lock: bool = False
) -> ConflictEntry:
    """One entry of the log; another restaurant's answers like a missing one."""
    return conflict(await _one(conn, _CONFLICTS, restaurant_id, conflict_id, lock, what="conflict"))


async def get_quarantined(
    conn: asyncpg.Connection, *, restaurant_id: UUID, quarantine_id: int, lock: bool = False
) -> QuarantinedChange:
    """One quarantined change; another restaurant's answers like a missing one."""
    return quarantined(
        await _one(conn, _QUARANTINE, restaurant_id, quarantine_id, lock, what="quarantined change")
    )


async def read_conflict(*, restaurant_id: UUID, conflict_id: int) -> ConflictEntry:
    async with connection() as conn:
        return await get_conflict(conn, restaurant_id=restaurant_id, conflict_id=conflict_id)


async def read_quarantined(*, restaurant_id: UUID, quarantine_id: int) -> QuarantinedChange:
    async with connection() as conn:
        return await get_quarantined(conn, restaurant_id=restaurant_id, quarantine_id=quarantine_id)


def conflict(row: asyncpg.Record) -> ConflictEntry:
    return ConflictEntry(
        **{key: row[key] for key in _CONFLICT_COLUMNS},
        current=json.loads(row["current"]),
        incoming=json.loads(row["incoming"]),
        outcome=json.loads(row["outcome"]),
    )


def quarantined(row: asyncpg.Record) -> QuarantinedChange:
    return QuarantinedChange(
        **{key: row[key] for key in _QUARANTINE_COLUMNS}, change=json.loads(row["change"])
    )


_CONFLICT_COLUMNS = (
    "id", "at", "location_id", "entity_type", "entity_id", "device_id", "rule", "state",
    "acknowledged_at", "acknowledged_by",
)  # fmt: skip
_QUARANTINE_COLUMNS = (
    "id", "at", "device_id", "location_id", "batch_id", "seq", "entity_type", "entity_id",
    "reason", "detail", "state", "settled_at", "settled_by", "dismissal_reason", "retries",
    "retried_at", "retried_by", "retry_outcome",
)  # fmt: skip


async def _one(
    conn: asyncpg.Connection,
    select: str,
    restaurant_id: UUID,
    row_id: int,
    lock: bool,
    *,
    what: str,
) -> asyncpg.Record:
    row = None
    if 1 <= row_id <= _BIGINT_MAX:  # a larger one names no row; PostgreSQL would refuse it
        row = await conn.fetchrow(
            f"{select} WHERE id = $1 AND restaurant_id = $2{' FOR UPDATE' if lock else ''}",
            row_id,
            restaurant_id,
        )
    if row is None:
        raise NotFound(f"no such {what}")
    return row


async def _fetch(
    query: str, restaurant_id: UUID, before: int | None, limit: int, filters: Filters
) -> list[asyncpg.Record]:
    async with connection() as conn:
        rows: list[asyncpg.Record] = await conn.fetch(
            query,
            restaurant_id,
            before,
            filters.device_id,
            filters.entity_type,
            filters.since,
            filters.until,
            filters.state,
            limit + 1,
        )
    return rows


def _next(rows: list[Any], limit: int) -> str | None:
    return str(rows[limit - 1]["id"]) if len(rows) > limit else None
