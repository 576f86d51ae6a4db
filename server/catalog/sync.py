"""The menu flows from the back office to every iPad; 86'ing flows both ways.

Menu entities are restaurant-wide and only the server writes them. Availability is per
location: an iPad may 86 a dish (``sold_out``) and count portions down (``remaining`` is a
counter: iPads send how many they used, so two tills selling the last portions at once both
count). Its entity id is ``uuid5(location_id, str(product_id))``, so every iPad derives it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID, uuid5

import asyncpg
import msgspec

from server.auth.permissions import Permission
from server.catalog.prices import record_price
from server.sync.registry import DeviceContext, FieldRule, Written, always, register
from server.sync.rules import Change, EntitySpec, Rejected, Version
from server.sync.store import record_server_change, server_change, transaction

AVAILABILITY = EntitySpec(
    entity_type="availability",
    scope="location",
    required_on_create=frozenset({"product_id"}),
    create_only=frozenset({"product_id"}),
    counters=frozenset({"remaining"}),
)
MENU_TYPES = ("category", "product", "modifier_group", "modifier")


class AvailabilityFields(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    product_id: UUID | msgspec.UnsetType = msgspec.UNSET
    sold_out: bool | msgspec.UnsetType = msgspec.UNSET
    remaining: int | msgspec.UnsetType = msgspec.UNSET


def availability_id(location_id: UUID, product_id: UUID) -> UUID:
    return uuid5(location_id, str(product_id))


def validate_availability(change: Change, current: Version | None, device: DeviceContext) -> None:
    if change.op == "delete":
        return
    try:
        msgspec.convert(change.fields, AvailabilityFields, strict=False)
    except msgspec.ValidationError as exc:
        raise Rejected("invalid_fields", str(exc)) from exc


async def project_availability(
    conn: asyncpg.Connection, restaurant_id: UUID, written: Sequence[Written]
) -> None:
    await conn.execute(
        "INSERT INTO availability (id, restaurant_id, location_id, product_id, sold_out,"
        " updated_at) SELECT stock.id, $1, location_id, product_id, sold_out, now()"
        " FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::boolean[])"
        " AS stock (id, location_id, product_id, sold_out)"
        " WHERE EXISTS (SELECT 1 FROM products WHERE id = product_id AND restaurant_id = $1)"
        " ON CONFLICT (location_id, product_id) DO UPDATE SET sold_out = excluded.sold_out,"
        " updated_at = now()",
        restaurant_id,
        [item.entity_id for item in written],
        [item.location_id for item in written],
        [UUID(str(item.version.data["product_id"])) for item in written],
        [bool(item.version.data.get("sold_out", False)) for item in written],
    )


async def publish_menu_item(restaurant_id: UUID, entity_type: str, item: msgspec.Struct) -> None:
    """Send the back office's current version of a menu item to every iPad; a product's or
    modifier's new price joins its price history (``catalog/prices.py``) in the same
    transaction, under the entity's lock."""
    assert entity_type in MENU_TYPES
    data: dict[str, Any] = msgspec.to_builtins(item)
    entity_id = UUID(data["id"])
    async with transaction() as conn:
        await server_change(
            conn,
            restaurant_id=restaurant_id,
            entity_type=entity_type,
            entity_id=entity_id,
            location_id=None,
            data=data,
        )
        if entity_type == "product":
            await record_price(
                conn, restaurant_id, "product", entity_id, data["price"], data["vat_rate_bp"]
            )
        elif entity_type == "modifier":
            await record_price(
                conn, restaurant_id, "modifier", entity_id, data["price_delta"], None
            )


async def publish_availability(
    restaurant_id: UUID, location_id: UUID, product_id: UUID, *, sold_out: bool
) -> None:
    await record_server_change(
        restaurant_id=restaurant_id,
        entity_type="availability",
        entity_id=availability_id(location_id, product_id),
        location_id=location_id,
        data={"product_id": str(product_id), "sold_out": sold_out},
    )


# Anyone on shift may 86 a dish or count what is left; a bare iPad may not.
AVAILABILITY_FIELDS = {
    "product_id": FieldRule(Permission.availability_set),
    "sold_out": FieldRule(Permission.availability_set),
    "remaining": FieldRule(Permission.availability_set),
}


register(
    AVAILABILITY,
    tier=0,
    admit=always(Permission.availability_set),
    fields=AVAILABILITY_FIELDS,
    validate=validate_availability,
    project=project_availability,
    contended=True,
)
for _menu_type in MENU_TYPES:
    register(EntitySpec(entity_type=_menu_type, scope="restaurant", pushable=False), tier=0)
