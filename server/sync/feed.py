"""The pull feed: every committed change after a cursor, never one skipped.

Rows are stamped with the writing transaction's id (``xid8``) and a sequence number, and a
pull returns only rows whose transaction is older than the oldest transaction still running
(``pg_snapshot_xmin``). Every transaction below that mark has finished, so no row can later
appear behind a cursor: the classic bug of cursors on a sequence or a timestamp, where a
slow transaction commits "in the past" (docs/sync-protocol.md, notes §3), cannot happen.

A new device starts from an empty cursor and gets a snapshot: every entity older than a
watermark, tombstones included, page by page in priority order (menu and floor, open orders,
history), then the feed from that watermark on. Tombstones are in it so that a device that
starts over still knows a deleted entity's clock: without it, its next write on the same id
(a table's state) would be dominated by the tombstone and answered ``stale``.

Each page also says how far the device's own changes are acknowledged
(``last_applied_seq``): only as far as every change's entity has its current state in this
page or an earlier one of the same pull, so a device that drops its outbox up to it never
loses sight of a change. The cursor carries that number, so the next page only looks at the
device's later changes. Each pull is one REPEATABLE READ snapshot, so the rows, the next
cursor and the acknowledgement agree with each other.

Each stored state keeps its wire form (``state_json``, written with the state), and a page
is those texts joined and passed on as they are (:class:`PullPage`): the server never
decodes and encodes a state again, which was most of its time in a bootstrap
(docs/performance.md).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

import asyncpg
import msgspec

from server.db.engine import connection
from server.errors import ValidationFailed
from server.sync.errors import ResyncRequired
from server.sync.protocol import SCHEMA_VERSION, DismissedChange, EntityState
from server.sync.registry import DeviceContext
from server.wire import Wire

_MAX_SEQ = 2**63 - 1
_FIRST_ID = UUID(int=0)

# Bounds of the columns a cursor is compared with (xid8, bigint, smallint): a cursor outside
# them was not issued here, and PostgreSQL would fail on it or, for a negative xid, wrap it.
# (xid8 goes to 2**64 - 1, but msgspec bounds stop at int64, and no xid gets that far.)
_Xid = Annotated[int, msgspec.Meta(ge=0, le=_MAX_SEQ)]
_Seq = Annotated[int, msgspec.Meta(ge=0, le=_MAX_SEQ)]
_Tier = Annotated[int, msgspec.Meta(ge=-1, le=2**15 - 1)]
_Applied = Annotated[int, msgspec.Meta(ge=0, le=2**53)]  # the bounds of a change's seq


class SnapshotCursor(msgspec.Struct, frozen=True, tag="s"):
    watermark: Annotated[int, msgspec.Meta(ge=1, le=_MAX_SEQ)]
    """Entities last written by a transaction below this are in the snapshot."""
    tier: _Tier = -1
    entity_type: str = ""
    entity_id: UUID = _FIRST_ID
    applied: _Applied = 0
    """The ``last_applied_seq`` answered with this cursor (see :func:`_applied_through`)."""
    dismissed: _Xid = 0
    """Dismissals below this transaction id were answered (see :func:`_dismissed`)."""


class FeedCursor(msgspec.Struct, frozen=True, tag="f"):
    xid: _Xid
    seq: _Seq
    applied: _Applied = 0
    """The ``last_applied_seq`` answered with this cursor (see :func:`_applied_through`)."""
    dismissed: _Xid = 0
    """Dismissals below this transaction id were answered (see :func:`_dismissed`)."""


Cursor = SnapshotCursor | FeedCursor


def encode_cursor(cursor: Cursor) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(cursor)).decode().rstrip("=")


def decode_cursor(text: str | None) -> Cursor | None:
    if not text:
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        cursor: Cursor = msgspec.json.decode(raw, type=Cursor)
        return cursor
    except (binascii.Error, ValueError, msgspec.DecodeError) as exc:
        raise ValidationFailed("cursor is not one this server issued", field="cursor") from exc


_SCOPE = "restaurant_id = $1 AND (location_id = $2 OR location_id IS NULL)"


class PullPage(Wire, kw_only=True):
    """A pull's answer as sent: a :class:`~server.sync.protocol.PullResponse` whose
    ``changes`` are the stored states' wire form (``state_json``, migration
    sync_2026_12_20t11_05_00), joined unparsed. Same members, in the same order
    (``tests/unit/sync/test_pull_page.py``)."""

    changes: msgspec.Raw
    cursor: str
    has_more: bool
    phase: Literal["snapshot", "feed"]
    last_applied_seq: int
    schema_version: int = SCHEMA_VERSION
    dismissed: list[DismissedChange] = msgspec.field(default_factory=list)


async def pull(*, device: DeviceContext, cursor: str | None, limit: int) -> PullPage:
    """The next page of changes for ``device`` after ``cursor``."""
    position = decode_cursor(cursor)
    async with connection() as conn:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            marks = await conn.fetchrow(
                "SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin,"
                " (SELECT last_seq FROM sync_devices WHERE device_id = $1) AS last_seq",
                device.device_id,
            )
            xmin, last_seq = int(marks["xmin"]), int(marks["last_seq"] or 0)
            if position is None:
                position = SnapshotCursor(watermark=xmin)
            _refuse_if_from_the_future(position, xmin)
            if isinstance(position, FeedCursor):
                await _refuse_if_purged(conn, device, position)
                page = await _feed_page(conn, device, position, limit)
            else:
                page = await _snapshot_page(conn, device, position, limit)
            rows, next_cursor, has_more, phase = page
            applied = await _applied_through(
                conn, device, next_cursor, since=position.applied, last_seq=last_seq
            )
            dismissed, answered = await _dismissed(conn, device, since=position.dismissed)
        acked = position.xid if isinstance(position, FeedCursor) else None
        await _remember_pull(conn, device, acked)
    return PullPage(
        changes=msgspec.Raw("[" + ",".join([row["state_json"] for row in rows]) + "]"),
        cursor=encode_cursor(
            msgspec.structs.replace(next_cursor, applied=applied, dismissed=answered)
        ),
        has_more=has_more,
        phase=phase,
        last_applied_seq=applied,
        dismissed=dismissed,
    )


Page = tuple[list[asyncpg.Record], Cursor, bool, Literal["snapshot", "feed"]]


def _snapshot_part(which: str) -> str:
    return (
        "(SELECT state_json, tier, entity_type, entity_id FROM sync_entities"
        f" WHERE {_SCOPE} AND {which}"
        " AND change_xid < $3::text::xid8 AND (tier, entity_type, entity_id) > ($4, $5, $6)"
        " ORDER BY tier, entity_type, entity_id LIMIT $7)"
    )


# Live entities and tombstones each have their own partial index in this order; a page is
# the first rows of the two merged.
_SNAPSHOT = (
    f"{_snapshot_part('NOT deleted')} UNION ALL {_snapshot_part('deleted')}"
    " ORDER BY tier, entity_type, entity_id LIMIT $7"
)


async def _snapshot_page(
    conn: asyncpg.Connection, device: DeviceContext, at: SnapshotCursor, limit: int
) -> Page:
    rows = await conn.fetch(
        _SNAPSHOT,
        device.restaurant_id,
        device.location_id,
        str(at.watermark),
        at.tier,
        at.entity_type,
        at.entity_id,
        limit + 1,
    )
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        following: Cursor = SnapshotCursor(
            at.watermark, last["tier"], last["entity_type"], last["entity_id"]
        )
        return rows, following, True, "snapshot"
    # Snapshot done: everything written from the watermark on comes through the feed.
    return rows, FeedCursor(xid=at.watermark - 1, seq=_MAX_SEQ), True, "snapshot"


async def _feed_page(
    conn: asyncpg.Connection, device: DeviceContext, after: FeedCursor, limit: int
) -> Page:
    rows = await conn.fetch(
        "SELECT state_json, change_xid::text AS xid, change_seq FROM sync_entities"
        f" WHERE {_SCOPE} AND (change_xid, change_seq) > ($3::text::xid8, $4)"
        " AND change_xid < pg_snapshot_xmin(pg_current_snapshot())"
        " ORDER BY change_xid, change_seq LIMIT $5",
        device.restaurant_id,
        device.location_id,
        str(after.xid),
        after.seq,
        limit + 1,
    )
    has_more = len(rows) > limit
    rows = rows[:limit]
    following = FeedCursor(int(rows[-1]["xid"]), rows[-1]["change_seq"]) if rows else after
    return rows, following, has_more, "feed"


async def _applied_through(
    conn: asyncpg.Connection,
    device: DeviceContext,
    through: Cursor,
    *,
    since: int,
    last_seq: int,
) -> int:
    """How far a page ending at ``through`` acknowledges the device's own changes.

    The highest ``n`` such that for every change of the device up to ``n`` the entity it
    wrote has its current state at or before ``through`` (so in this page or an earlier one
    of the same pull; that state includes the change), or is not there for the device to
    see (never created, purged, another location's). ``since`` is what the page before
    acknowledged (carried in its cursor): the changes up to it stay covered, since later
    pages only bring newer states. The scan walks the device's later changes in order and
    stops at the first one not covered, so a pull reads each of them about once.
    """
    since = min(since, last_seq)
    if since == last_seq:
        return last_seq
    if isinstance(through, FeedCursor):
        later = "(e.change_xid, e.change_seq) > ($6::text::xid8, $7)"
        bounds: list[Any] = [str(through.xid), through.seq]
    else:
        later = (
            "(e.change_xid >= $6::text::xid8"
            " OR (e.tier, e.entity_type, e.entity_id) > ($7, $8, $9))"
        )
        bounds = [str(through.watermark), through.tier, through.entity_type, through.entity_id]
    # LATERAL keeps it a walk of the device's results in seq order, one key lookup each.
    first_not_covered = await conn.fetchval(
        "SELECT r.seq FROM sync_results r CROSS JOIN LATERAL (SELECT 1 FROM sync_entities e"
        " WHERE e.restaurant_id = $2 AND e.entity_type = r.result->>'entity_type'"
        " AND e.entity_id = (r.result->>'entity_id')::uuid"
        f" AND (e.location_id = $5 OR e.location_id IS NULL) AND {later} LIMIT 1) AS pending"
        " WHERE r.device_id = $1 AND r.seq > $3 AND r.seq <= $4"
        " ORDER BY r.seq LIMIT 1",
        device.device_id,
        device.restaurant_id,
        since,
        last_seq,
        device.location_id,
        *bounds,
    )
    return last_seq if first_not_covered is None else int(first_not_covered) - 1


async def _dismissed(
    conn: asyncpg.Connection, device: DeviceContext, *, since: int
) -> tuple[list[DismissedChange], int]:
    """The device's quarantined changes dismissed by transactions from ``since`` on, and the
    mark for the next cursor: every dismissal below it has been answered.

    Only transactions below the snapshot's watermark count, all of them finished, so none
    can later commit a dismissal below the new mark: each lands in exactly one answer per
    cursor, the way the feed's rows do (module docstring). With none new the mark stays,
    so a cursor with nothing new to say stays the same.
    """
    rows = await conn.fetch(
        "SELECT seq, dismissal_reason, settled_at, dismissed_xid::text AS xid"
        " FROM sync_quarantine WHERE device_id = $1 AND state = 'dismissed'"
        " AND dismissed_xid >= $2::text::xid8"
        " AND dismissed_xid < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY seq",
        device.device_id,
        str(since),
    )
    answered = max((int(row["xid"]) + 1 for row in rows), default=since)
    return [
        DismissedChange(seq=row["seq"], reason=row["dismissal_reason"], at=row["settled_at"])
        for row in rows
    ], answered


async def visible_states(
    conn: asyncpg.Connection, device: DeviceContext, keys: Sequence[tuple[str, UUID]]
) -> dict[tuple[str, UUID], EntityState]:
    """The entities of ``keys`` as the server holds them now, as a pull would show them;
    those the device may not see (another location's) or that do not exist are left out."""
    rows = await conn.fetch(
        f"SELECT state_json FROM sync_entities WHERE {_SCOPE} AND (entity_type, entity_id) IN"
        " (SELECT * FROM unnest($3::text[], $4::uuid[]))",
        device.restaurant_id,
        device.location_id,
        [entity_type for entity_type, _ in keys],
        [entity_id for _, entity_id in keys],
    )
    states = [msgspec.json.decode(row["state_json"], type=EntityState) for row in rows]
    return {(state.entity_type, state.entity_id): state for state in states}


def _refuse_if_from_the_future(position: Cursor, xmin: int) -> None:
    """Every cursor this database issued is below its current watermark, which only grows.

    One above it was issued by another database, e.g. before a restore from backup: going on
    from it would skip everything written since the backup, so the device starts again.
    """
    mark = position.xid + 1 if isinstance(position, FeedCursor) else position.watermark
    if mark > xmin:
        raise ResyncRequired(
            "this cursor is ahead of the server (was the database restored?); pull from an"
            " empty cursor (changes waiting to be pushed are still accepted)",
            field="cursor",
        )


async def _refuse_if_purged(
    conn: asyncpg.Connection, device: DeviceContext, after: FeedCursor
) -> None:
    purged = await conn.fetchval(
        "SELECT purged_xid::text FROM sync_horizons WHERE restaurant_id = $1",
        device.restaurant_id,
    )
    if purged is not None and after.xid < int(purged):
        raise ResyncRequired(
            "this device was offline longer than deletions are kept; pull from an empty"
            " cursor (changes waiting to be pushed are still accepted)",
            field="cursor",
        )


async def _remember_pull(
    conn: asyncpg.Connection, device: DeviceContext, acked: int | None
) -> None:
    """Record how far the device has confirmed, so tombstones it still needs are kept."""
    await conn.execute(
        "INSERT INTO sync_devices (device_id, restaurant_id, location_id, last_pull_at, pulled_xid)"
        " VALUES ($1, $2, $3, now(), $4::text::xid8) ON CONFLICT (device_id) DO UPDATE SET"
        " last_pull_at = now(),"
        " pulled_xid = coalesce(excluded.pulled_xid, sync_devices.pulled_xid)",
        device.device_id,
        device.restaurant_id,
        device.location_id,
        None if acked is None else str(acked),
    )


def behind_joins(cap: int) -> str:
    """How far a device (``d``, with its ``sync_devices`` row ``s``) is behind the feed, as
    two lateral joins for the back office's device list (``device_status``): the first
    change it has not pulled (``first_unpulled.updated_at``) and how many there are, counted
    up to ``cap`` (``behind.changes``). They walk the feed's own index, as a pull does."""
    return f"""LEFT JOIN LATERAL (
    SELECT e.updated_at FROM sync_entities e
    WHERE e.restaurant_id = d.restaurant_id AND e.change_xid > s.pulled_xid
      AND (e.location_id = d.location_id OR e.location_id IS NULL)
    ORDER BY e.change_xid, e.change_seq LIMIT 1
) first_unpulled ON true
LEFT JOIN LATERAL (
    SELECT count(*) AS changes FROM (
        SELECT 1 FROM sync_entities e
        WHERE e.restaurant_id = d.restaurant_id AND e.change_xid > s.pulled_xid
          AND (e.location_id = d.location_id OR e.location_id IS NULL)
        LIMIT {cap}
    ) AS unpulled
) behind ON s.pulled_xid IS NOT NULL"""


async def purge_tombstones(*, restaurant_id: UUID, max_offline: timedelta) -> int:
    """Delete tombstones every active device has pulled past and older than ``max_offline``.

    A device that has not pulled within ``max_offline`` no longer holds tombstones back; if
    it comes back with a cursor from before the purge it is told to resync.
    """
    cutoff = datetime.now(UTC) - max_offline
    async with connection() as conn, conn.transaction():
        horizon = await conn.fetchval(
            "SELECT min(pulled_xid)::text FROM sync_devices d JOIN devices USING (restaurant_id)"
            " WHERE d.restaurant_id = $1 AND devices.id = d.device_id"
            " AND devices.revoked_at IS NULL AND d.last_pull_at >= $2",
            restaurant_id,
            cutoff,
        )
        condition = "restaurant_id = $1 AND deleted AND updated_at < $2"
        args: list[Any] = [restaurant_id, cutoff]
        if horizon is not None:
            condition += " AND change_xid < $3::text::xid8"
            args.append(horizon)
        gone = await conn.fetchrow(
            f"WITH gone AS (DELETE FROM sync_entities WHERE {condition} RETURNING change_xid)"
            " SELECT count(*) AS count, max(change_xid)::text AS purged FROM gone",
            *args,
        )
        count, purged = int(gone["count"]), gone["purged"]
        if purged is None:
            return 0
        await conn.execute(
            "INSERT INTO sync_horizons (restaurant_id, purged_xid) VALUES ($1, $2::text::xid8)"
            " ON CONFLICT (restaurant_id) DO UPDATE SET purged_xid ="
            " greatest(sync_horizons.purged_xid, excluded.purged_xid)",
            restaurant_id,
            str(int(purged) + 1),
        )
        return count


async def purge_all_tombstones(*, max_offline: timedelta) -> int:
    """``purge_tombstones`` for every restaurant that has tombstones; answers how many went.
    The partial index of deleted rows (``sync_entities_snapshot_tombstones``) lists those
    restaurants without reading the live rows."""
    async with connection() as conn:
        rows = await conn.fetch("SELECT DISTINCT restaurant_id FROM sync_entities WHERE deleted")
    total = 0
    for row in rows:
        total += await purge_tombstones(restaurant_id=row["restaurant_id"], max_offline=max_offline)
    return total
