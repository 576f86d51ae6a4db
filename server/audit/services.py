"""Writing and reading the audit log."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from server.audit.schemas import AuditEntryOut
from server.audit.tables import AuditEntry
from server.auth.tokens import Caller


async def record(
    *,
    caller: Caller,
    action: str,
    approved_by: UUID | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append what ``caller`` did."""
    await AuditEntry.insert(
        AuditEntry(
            restaurant_id=caller.restaurant_id,
            at=datetime.now(UTC),
            action=action,
            actor_kind=caller.actor_kind,
            actor_id=caller.actor_id,
            role=caller.role.value if caller.role else None,
            device_id=caller.device_id,
            approved_by=approved_by,
            target_type=target_type,
            target_id=target_id,
            details=details or {},
        )
    )


async def record_system_event(
    *,
    restaurant_id: UUID,
    action: str,
    target_type: str | None = None,
    target_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append something the server did or detected on its own (a lockout, a token replay)."""
    await AuditEntry.insert(
        AuditEntry(
            restaurant_id=restaurant_id,
            at=datetime.now(UTC),
            action=action,
            actor_kind="system",
            target_type=target_type,
            target_id=target_id,
            details=details or {},
        )
    )


async def record_in(
    conn: asyncpg.Connection,
    *,
    restaurant_id: UUID,
    action: str,
    actor_kind: str,
    actor_id: UUID | None,
    device_id: UUID | None = None,
    approved_by: UUID | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append what an employee did on an iPad, in ``conn``'s transaction (a sync push's, which
    is not Piccolo's): the entry stands or falls with the change it records."""
    await conn.execute(
        "INSERT INTO audit_log (restaurant_id, at, action, actor_kind, actor_id, device_id,"
        " approved_by, target_type, target_id, details)"
        " VALUES ($1, now(), $2, $3, $4, $5, $6, $7, $8, $9)",
        restaurant_id,
        action,
        actor_kind,
        actor_id,
        device_id,
        approved_by,
        target_type,
        target_id,
        json.dumps(details or {}),
    )


async def list_entries(
    *, restaurant_id: UUID, before: int | None, limit: int
) -> tuple[list[AuditEntryOut], str | None]:
    """Newest first; ``before`` is the id the previous page ended at."""
    query = AuditEntry.select().where(AuditEntry.restaurant_id == restaurant_id)
    if before is not None:
        query = query.where(AuditEntry.id < before)
    rows = (
        await query.order_by(AuditEntry.id, ascending=False).limit(limit + 1).output(load_json=True)
    )
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = str(rows[-1]["id"]) if more and rows else None
    return msgspec.convert(rows, list[AuditEntryOut]), cursor
