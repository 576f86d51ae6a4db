"""What a manager does about sync problems: dismiss or retry a quarantined change,
acknowledge a logged conflict.

Each action locks its row, so two managers acting at once see one another's decision, and
repeating an action answers as the first one did. A retry is no second way to write: the
stored change goes back through ``engine.reapply`` as the device that made it, with every
rule a fresh push meets. The routes are audited by ``AuditMiddleware`` with the row's id.
"""

from __future__ import annotations

import asyncpg
import msgspec

from server import events
from server.auth.tokens import Caller
from server.db.engine import connection
from server.sync import engine
from server.sync.errors import QuarantineSettled, RetryFromRevokedDevice
from server.sync.protocol import ChangeIn
from server.sync.registry import DeviceContext
from server.sync.reports import (
    ConflictEntry,
    QuarantinedChange,
    RetryAnswer,
    get_conflict,
    get_quarantined,
)


async def dismiss(*, caller: Caller, quarantine_id: int, reason: str) -> QuarantinedChange:
    """Close a quarantined change for good; the device that made it hears in its pull."""
    async with connection() as conn, conn.transaction():
        entry = await _locked(conn, caller, quarantine_id)
        if entry.state == "dismissed":
            return entry  # the first dismissal and its reason stand
        if entry.state == "applied":
            raise QuarantineSettled(
                "it was retried and applied; there is nothing left to dismiss", state=entry.state
            )
        # The transaction's id orders the notice among the device's pulls (feed._dismissed).
        await conn.execute(
            "UPDATE sync_quarantine SET state = 'dismissed', settled_at = now(),"
            " settled_by = $2, dismissal_reason = $3, dismissed_xid = pg_current_xact_id()"
            " WHERE id = $1",
            quarantine_id,
            caller.actor_id,
            reason,
        )
        return await get_quarantined(
            conn, restaurant_id=caller.restaurant_id, quarantine_id=quarantine_id
        )


async def retry(*, caller: Caller, quarantine_id: int) -> RetryAnswer:
    """Apply a quarantined change again, now that what refused it has been put right."""
    async with events.collect(), connection() as conn, conn.transaction():
        entry = await _locked(conn, caller, quarantine_id)
        if entry.state == "applied":
            return RetryAnswer(outcome=entry.retry_outcome or "applied", quarantined=entry)
        if entry.state == "dismissed":
            raise QuarantineSettled(
                "it was dismissed, and its device told to drop it", state=entry.state
            )
        result = await engine.reapply(
            conn,
            device=await _maker(conn, caller, entry),
            batch_id=entry.batch_id,
            change=msgspec.convert(entry.change, ChangeIn),
        )
        await conn.execute(
            "UPDATE sync_quarantine SET retries = retries + 1, retried_at = now(),"
            " retried_by = $2, retry_outcome = $3,"
            " state = CASE WHEN $4 THEN 'applied' ELSE state END,"
            " settled_at = CASE WHEN $4 THEN now() ELSE settled_at END,"
            " settled_by = CASE WHEN $4 THEN $2 ELSE settled_by END WHERE id = $1",
            quarantine_id,
            caller.actor_id,
            result.outcome,
            result.outcome != "rejected",
        )
        return RetryAnswer(
            outcome=result.outcome,
            quarantined=await get_quarantined(
                conn, restaurant_id=caller.restaurant_id, quarantine_id=quarantine_id
            ),
        )


async def acknowledge(*, caller: Caller, conflict_id: int) -> ConflictEntry:
    """Mark a logged conflict as seen by a manager; the first acknowledgement stands."""
    async with connection() as conn, conn.transaction():
        entry = await get_conflict(
            conn, restaurant_id=caller.restaurant_id, conflict_id=conflict_id, lock=True
        )
        if entry.state == "acknowledged":
            return entry
        await conn.execute(
            "UPDATE sync_conflicts SET state = 'acknowledged', acknowledged_at = now(),"
            " acknowledged_by = $2 WHERE id = $1",
            conflict_id,
            caller.actor_id,
        )
        return await get_conflict(conn, restaurant_id=caller.restaurant_id, conflict_id=conflict_id)


async def _locked(
    conn: asyncpg.Connection, caller: Caller, quarantine_id: int
) -> QuarantinedChange:
    return await get_quarantined(
        conn, restaurant_id=caller.restaurant_id, quarantine_id=quarantine_id, lock=True
    )


async def _maker(
    conn: asyncpg.Connection, caller: Caller, entry: QuarantinedChange
) -> DeviceContext:
    """The device that made the change, where it made it (the quarantine keeps the device)."""
    maker = await conn.fetchrow(
        "SELECT prefix, revoked_at FROM devices WHERE id = $1", entry.device_id
    )
    if maker["revoked_at"] is not None:
        raise RetryFromRevokedDevice("its iPad was revoked", field="quarantine_id")
    prefix: str = maker["prefix"]
    return DeviceContext(
        device_id=entry.device_id,
        restaurant_id=caller.restaurant_id,
        location_id=entry.location_id,
        prefix=prefix,
    )
