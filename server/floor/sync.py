"""Table state syncs between iPads (who sits where); the floor plan comes from the back office."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

import msgspec

from server.auth.permissions import Permission
from server.sync.registry import DeviceContext, FieldRule, always, register
from server.sync.rules import Change, EntitySpec, Rejected, Version

# The entity id of a table's state is the dining table's own id.
TABLE_STATE = EntitySpec(entity_type="table_state", scope="location", deletable=True)

# The floor plan itself (names, seats) is edited in the back office only.
FLOOR_TABLE = EntitySpec(entity_type="floor_table", scope="location", pushable=False)


class TableStateFields(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    status: Literal["free", "seated", "ordered", "paying", "dirty"] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    covers: int | msgspec.UnsetType = msgspec.UNSET
    order_id: UUID | msgspec.UnsetType | None = msgspec.UNSET


def validate_table_state(change: Change, current: Version | None, device: DeviceContext) -> None:
    if change.op == "delete":
        return
    try:
        fields = msgspec.convert(change.fields, TableStateFields, strict=False)
    except msgspec.ValidationError as exc:
        raise Rejected("invalid_fields", str(exc)) from exc
    if isinstance(fields.covers, int) and not 0 <= fields.covers <= 500:
        raise Rejected("invalid_fields", "covers must be between 0 and 500")


# Seating a table is part of taking an order: any iPad, signed in or not.
TABLE_STATE_FIELDS = {
    "status": FieldRule(Permission.orders_take),
    "covers": FieldRule(Permission.orders_take),
    "order_id": FieldRule(Permission.orders_take),
}


register(
    TABLE_STATE,
    tier=0,
    admit=always(Permission.orders_take),
    fields=TABLE_STATE_FIELDS,
    validate=validate_table_state,
    contended=True,
)
register(FLOOR_TABLE, tier=0)
