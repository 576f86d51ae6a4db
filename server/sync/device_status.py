"""The back office's device status: every enrolled iPad, how far it has synced, in one query.

One statement per page reads every device of the restaurant with its sync progress, what it
last said about its outbox, how far its pull is behind the feed, and its quarantine and
conflict counts (per-device subqueries on per-device indexes), and its last error: the newest
open quarantined change, or the latest push refused as a whole, which the engine notes on
the device's ``sync_devices`` row after the batch rolls back. The colour
(``device_health``) depends on the time now, so the list is sorted and cut into pages here,
after reading the restaurant's devices (tens of iPads, not thousands). A device that changes
colour between two pages may show on both or neither; the first page is always current.

Behind the feed: the changes after the cursor the device last pulled *from* (``pulled_xid``,
what it has confirmed holding), in its location and the restaurant-wide ones, walked on the
feed's index and counted up to ``BEHIND_COUNT_CAP``; their age is that of the first of them
in feed order, the oldest the device is missing.

``online`` is a socket held by *this* server process (``Hub.devices_online``): with several
processes, a device whose socket another one holds shows offline here, but its requests
still move ``last_seen_at``, so the colour, which asks "online or seen within five minutes",
holds anyway (an iPad idle for five minutes on another process's socket shows ``offline``).

The statement reads the devices and locations tables, which belong to other packages: one
read joining them is what keeps a page to one query; nothing here writes them.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
from collections.abc import AsyncIterator, Collection
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

import asyncpg
import msgspec

from server.db.engine import connection as pooled_connection
from server.errors import ValidationFailed
from server.pagination import Page
from server.sync import feed
from server.sync.device_health import RANK, Colour, Figures, health
from server.wire import Wire

BEHIND_COUNT_CAP = 10_000
"""Counting stops here, so an iPad offline for weeks costs one bounded index walk; the
figure then means "at least". The colour goes by the age of the oldest change, not this."""


class LastError(Wire, kw_only=True):
    """The newer of the device's newest open quarantined change and its latest push refused
    as a whole (if no push went through since): why the server did not take its changes."""

    source: Literal["quarantine", "push"]
    """``quarantine``: one change refused and kept (dismiss or retry it); ``push``: its whole
    push refused, nothing kept (the iPad sends it again once the cause is fixed)."""
    reason: str
    """The quarantine's reason code, or the push's problem code (``sequence_gap``,
    ``upgrade_required``, ``device_mismatch``, ``validation_failed``)."""
    detail: str
    at: datetime


class DeviceStatus(Wire, kw_only=True):
    device_id: UUID
    name: str
    location_id: UUID
    location_name: str
    status: Colour
    """red, amber or green: see ``docs/back-office.md`` for the rule."""
    reasons: list[str]
    """Why it has that colour, worst first (empty when green)."""
    online: bool
    """It holds a real-time socket with this server process now."""
    last_seen_at: datetime | None
    """Its last request or socket (requests move it at most once a minute)."""
    enrolled_at: datetime
    revoked_at: datetime | None
    app_version: str | None
    """As its last push said; ``None`` until it pushes."""
    schema_version: int | None
    last_push_at: datetime | None
    last_pull_at: datetime | None
    last_applied_seq: int
    """Its highest change the server has applied."""
    behind_changes: int | None
    """Changes in the feed it has not pulled yet (counted up to 10,000); ``None`` until it
    has pulled from the feed once."""
    behind_seconds: int | None
    """Age of the oldest of those changes; 0 when it is caught up."""
    outbox_backlog: int | None
    """Changes it said were waiting to be sent, at its last push; ``None`` if it never said."""
    oldest_unsent_at: datetime | None
    """When the oldest of them was made (by the server's clock), if any were waiting."""
    oldest_unsent_age_seconds: int | None
    """How long ago that was, now."""
    quarantined: int
    """Its changes the server refused, kept in the quarantine and not yet dismissed or
    retried."""
    conflicts: int
    """Its changes the server merged with a concurrent one (the conflict log), not yet
    acknowledged by a manager."""
    last_error: LastError | None
    """The newest of its quarantined changes still open, or its latest refused push if that
    is newer and no push went through since; ``None`` if neither."""


class _Position(msgspec.Struct, array_like=True, frozen=True, order=True):
    """Where a page ended, in the list's order: colour, location, name, id."""

    rank: int
    location_name: str
    name: str
    device_id: UUID


_SELECT = f"""
SELECT now() AS now, d.id, d.name, d.location_id, l.name AS location_name, d.enrolled_at,
       d.last_seen_at, d.revoked_at, s.app_version, s.schema_version, s.last_push_at,
       s.last_pull_at, coalesce(s.last_seq, 0) AS last_seq, s.outbox_backlog,
       s.oldest_unsent_at, behind.changes AS behind_changes, s.refused_code,
       s.refused_detail, s.refused_at,
       first_unpulled.updated_at AS first_unpulled_at,
       (SELECT count(*) FROM sync_quarantine q
        WHERE q.device_id = d.id AND q.state = 'open') AS quarantined,
       (SELECT count(*) FROM sync_conflicts c
        WHERE c.device_id = d.id AND c.state = 'new') AS conflicts,
       last_error.reason, last_error.detail, last_error.at AS error_at
FROM devices d
JOIN locations l ON l.id = d.location_id
LEFT JOIN sync_devices s ON s.device_id = d.id
{feed.behind_joins(BEHIND_COUNT_CAP)}
LEFT JOIN LATERAL (
    SELECT q.reason, q.detail, q.at FROM sync_quarantine q
    WHERE q.device_id = d.id AND q.state = 'open' ORDER BY q.id DESC LIMIT 1
) last_error ON true
WHERE d.restaurant_id = $1 AND ($2::uuid IS NULL OR d.location_id = $2)
  AND ($3 OR d.revoked_at IS NULL)
"""


async def list_devices(
    *,
    restaurant_id: UUID,
    location_id: UUID | None,
    include_revoked: bool,
    online: Collection[UUID],
    cursor: str | None,
    limit: int,
    conn: asyncpg.Connection | None = None,
) -> Page[DeviceStatus]:
    """One page of the restaurant's iPads (of ``location_id`` only, if given), worst first.

    ``online``: the devices holding a socket now. ``conn``: the connection to read with (one
    from the pool if not given); the page is one statement on it.
    """
    after = _decode(cursor)
    async with _reading(conn) as db:
        rows = await db.fetch(_SELECT, restaurant_id, location_id, include_revoked)
    listed = sorted(
        (_position(status), status) for status in (_status(row, online) for row in rows)
    )
    if after is not None:
        listed = [(position, status) for position, status in listed if position > after]
    following = _encode(listed[limit - 1][0]) if len(listed) > limit else None
    return Page(items=[status for _, status in listed[:limit]], next_cursor=following)


def _status(row: asyncpg.Record, online: Collection[UUID]) -> DeviceStatus:
    now: datetime = row["now"]
    first_unpulled: datetime | None = row["first_unpulled_at"]
    behind: timedelta | None = None
    if row["behind_changes"] is not None:
        behind = max(now - first_unpulled, timedelta(0)) if first_unpulled else timedelta(0)
    oldest_unsent: datetime | None = row["oldest_unsent_at"]
    verdict = health(
        Figures(
            now=now,
            online=row["id"] in online,
            last_seen_at=row["last_seen_at"],
            outbox_backlog=row["outbox_backlog"],
            oldest_unsent_at=oldest_unsent,
            behind=behind,
            quarantined=row["quarantined"],
        )
    )
    last_error = _last_error(row)
    return DeviceStatus(
        device_id=row["id"],
        name=row["name"],
        location_id=row["location_id"],
        location_name=row["location_name"],
        status=verdict.colour,
        reasons=list(verdict.reasons),
        online=row["id"] in online,
        last_seen_at=row["last_seen_at"],
        enrolled_at=row["enrolled_at"],
        revoked_at=row["revoked_at"],
        app_version=row["app_version"],
        schema_version=row["schema_version"],
        last_push_at=row["last_push_at"],
        last_pull_at=row["last_pull_at"],
        last_applied_seq=row["last_seq"],
        behind_changes=row["behind_changes"],
        behind_seconds=None if behind is None else int(behind.total_seconds()),
        outbox_backlog=row["outbox_backlog"],
        oldest_unsent_at=oldest_unsent,
        oldest_unsent_age_seconds=(
            None if oldest_unsent is None else max(int((now - oldest_unsent).total_seconds()), 0)
        ),
        quarantined=row["quarantined"],
        conflicts=row["conflicts"],
        last_error=last_error,
    )


def _last_error(row: asyncpg.Record) -> LastError | None:
    """The newer of the open quarantined change and the refused push; a refusal a push that
    applied something has followed since is over."""
    candidates = []
    if row["reason"] is not None:
        candidates.append(
            LastError(
                source="quarantine", reason=row["reason"], detail=row["detail"], at=row["error_at"]
            )
        )
    refused_at: datetime | None = row["refused_at"]
    last_push: datetime | None = row["last_push_at"]
    if refused_at is not None and (last_push is None or refused_at > last_push):
        candidates.append(
            LastError(
                source="push",
                reason=row["refused_code"],
                detail=row["refused_detail"],
                at=refused_at,
            )
        )
    return max(candidates, key=lambda error: error.at, default=None)


def _position(status: DeviceStatus) -> _Position:
    return _Position(RANK[status.status], status.location_name, status.name, status.device_id)


@contextlib.asynccontextmanager
async def _reading(conn: asyncpg.Connection | None) -> AsyncIterator[asyncpg.Connection]:
    if conn is not None:
        yield conn
        return
    async with pooled_connection() as pooled:
        yield pooled


def _encode(position: _Position) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(position)).decode().rstrip("=")


def _decode(cursor: str | None) -> _Position | None:
    """The position a cursor names; one we did not make is a 400 naming ``cursor``."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return msgspec.json.decode(raw, type=_Position)
    except (binascii.Error, ValueError, msgspec.DecodeError) as exc:
        raise ValidationFailed("cursor is not one this server issued", field="cursor") from exc
