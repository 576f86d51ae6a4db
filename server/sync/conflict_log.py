"""Conflicts a domain finds after the merge rules have run (two iPads opening one cash drawer
while offline), logged like the engine's own so a manager reads them in one list."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import asyncpg

from server import events
from server.sync.registry import DeviceContext


async def log_conflict(
    conn: asyncpg.Connection,
    device: DeviceContext,
    *,
    entity_type: str,
    entity_id: UUID,
    rule: str,
    current: dict[str, Any],
    incoming: dict[str, Any],
    outcome: dict[str, Any],
) -> None:
    """Log what ``device`` pushed (``incoming``) against what the server held (``current``)
    and what the domain made of them (``outcome``), in the push's transaction."""
    await conn.execute(
        "INSERT INTO sync_conflicts (restaurant_id, location_id, entity_type, entity_id,"
        " device_id, rule, current, incoming, outcome) VALUES ($1, $2, $3, $4, $5, $6, $7, $8,"
        " $9)",
        device.restaurant_id,
        device.location_id,
        entity_type,
        entity_id,
        device.device_id,
        rule,
        json.dumps(current),
        json.dumps(incoming),
        json.dumps(outcome),
    )
    await events.announce(
        events.ConflictLogged(
            restaurant_id=str(device.restaurant_id),
            location_id=str(device.location_id),
            entity_type=entity_type,
            entity_id=str(entity_id),
            rule=rule,
        )
    )
