"""What managers read: the conflict log and the quarantine."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from server.db.engine import DB
from server.pagination import Page
from server.sync.protocol import ConflictEntry, QuarantinedChange


async def conflicts(*, restaurant_id: UUID, before: int | None, limit: int) -> Page[ConflictEntry]:
    rows = await _newest(
        "SELECT id, at::text AS at, location_id, entity_type, entity_id, device_id, rule, current,"
        " incoming, outcome FROM sync_conflicts",
        restaurant_id,
        before,
        limit,
    )
    items = [
        ConflictEntry(
            **{
                k: row[k]
                for k in (
                    "id",
                    "at",
                    "location_id",
                    "entity_type",
                    "entity_id",
                    "device_id",
                    "rule",
                )
            },
            current=json.loads(row["current"]),
            incoming=json.loads(row["incoming"]),
            outcome=json.loads(row["outcome"]),
        )
        for row in rows[:limit]
    ]
    return Page(items=items, next_cursor=_next(rows, limit))


async def quarantine(
    *, restaurant_id: UUID, before: int | None, limit: int
) -> Page[QuarantinedChange]:
    rows = await _newest(
        "SELECT id, at::text AS at, device_id, location_id, batch_id, seq, change, reason, detail"
        " FROM sync_quarantine",
        restaurant_id,
        before,
        limit,
    )
    items = [
        QuarantinedChange(
            **{
                k: row[k]
                for k in (
                    "id",
                    "at",
                    "device_id",
                    "location_id",
                    "batch_id",
                    "seq",
                    "reason",
                    "detail",
                )
            },
            change=json.loads(row["change"]),
        )
        for row in rows[:limit]
    ]
    return Page(items=items, next_cursor=_next(rows, limit))


async def _newest(select: str, restaurant_id: UUID, before: int | None, limit: int) -> list[Any]:
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        rows: list[Any] = await conn.fetch(
            f"{select} WHERE restaurant_id = $1 AND ($2::bigint IS NULL OR id < $2)"
            " ORDER BY id DESC LIMIT $3",
            restaurant_id,
            before,
            limit + 1,
        )
    return rows


def _next(rows: list[Any], limit: int) -> str | None:
    return str(rows[limit - 1]["id"]) if len(rows) > limit else None
