"""What the pages show beyond the API's structs: device names, a conflict field by field."""

from __future__ import annotations

from typing import Any, NamedTuple
from uuid import UUID

from server.auth.tokens import Caller
from server.devices import services as devices
from server.sync.reports import ConflictEntry

# The clock and bookkeeping fields every synced record carries: not a manager's business.
_HIDDEN = frozenset({"clock", "hlc", "device_prefix", "device_seq"})


class FieldRow(NamedTuple):
    label: str
    current: str
    incoming: str
    outcome: str
    differs: bool


class ConflictView(NamedTuple):
    entry: ConflictEntry
    rows: list[FieldRow]


def label(name: str) -> str:
    """``table_id`` → ``Table``, ``unit_price`` → ``Unit price``."""
    words = name.removesuffix("_id").replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def conflict_view(entry: ConflictEntry) -> ConflictView:
    """Every field either version or the merge sets, the ones they disagree on marked."""
    names = sorted((entry.current.keys() | entry.incoming.keys() | entry.outcome.keys()) - _HIDDEN)
    rows = [
        FieldRow(
            label(name),
            shown(entry.current.get(name)),
            shown(entry.incoming.get(name)),
            shown(entry.outcome.get(name)),
            entry.current.get(name) != entry.incoming.get(name),
        )
        for name in names
    ]
    return ConflictView(entry, rows)


async def device_names(caller: Caller) -> dict[UUID, str]:
    listed = await devices.list_devices(
        restaurant_id=caller.restaurant_id, location_id=caller.location_id
    )
    return {device.id: device.name for device in listed}
