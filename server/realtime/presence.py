"""Device presence: an iPad is online while it holds a socket; the back office sees it live."""

from __future__ import annotations

from server import events
from server.auth.tokens import Caller
from server.db.engine import transaction


async def seen(caller: Caller, *, online: bool) -> None:
    """Record that an iPad connected or left, and tell managers."""
    if caller.device_id is None:
        return  # back-office screens have no presence
    async with transaction() as conn:
        row = await conn.fetchrow(
            "UPDATE devices SET last_seen_at = now() WHERE id = $1 AND restaurant_id = $2"
            " RETURNING location_id, last_seen_at",
            caller.device_id,
            caller.restaurant_id,
        )
        if row is None:
            return
        await events.announce(
            events.DevicePresence(
                restaurant_id=str(caller.restaurant_id),
                location_id=str(row["location_id"]),
                device_id=str(caller.device_id),
                online=online,
                last_seen=row["last_seen_at"].isoformat().replace("+00:00", "Z"),
            )
        )
