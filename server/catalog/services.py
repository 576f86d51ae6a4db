"""Menu editing. Archived rows stay so past orders keep their products."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar
from uuid import UUID, uuid4

import msgspec
from piccolo.table import Table

from server import events
from server.catalog import schemas as s
from server.catalog.sync import publish_availability, publish_menu_item
from server.catalog.tables import (
    Availability,
    Category,
    Modifier,
    ModifierGroup,
    Product,
    ProductModifierGroup,
)
from server.db import plain, scoped
from server.db.engine import DB
from server.errors import ValidationFailed
from server.pagination import Page, Position
from server.restaurants.services import currency_of
from server.restaurants.tables import Location

Published = TypeVar("Published", s.Category, s.Product, s.ModifierGroup, s.Modifier)


async def list_categories(
    *, restaurant_id: UUID, include_archived: bool, after: Position | None, limit: int
) -> Page[s.Category]:
    rows, cursor = await _page(Category, restaurant_id, include_archived, after, limit)
    return Page(items=msgspec.convert(rows, list[s.Category]), next_cursor=cursor)


async def create_category(*, restaurant_id: UUID, body: s.CategoryCreate) -> s.Category:
    values = {**msgspec.structs.asdict(body), "id": body.id or uuid4()}
    async with events.collect(), DB.transaction():
        row = await _insert_new(Category, restaurant_id, values)
        published = await _published(restaurant_id, "category", msgspec.convert(row, s.Category))
    return published


async def get_category(*, restaurant_id: UUID, category_id: UUID) -> s.Category:
    row = await scoped.get_or_raise(Category, restaurant_id=restaurant_id, row_id=category_id)
    return msgspec.convert(row, s.Category)


async def update_category(
    *, restaurant_id: UUID, category_id: UUID, body: s.CategoryUpdate
) -> s.Category:
    values = scoped.changes(msgspec.structs.asdict(body))
    async with events.collect(), DB.transaction():
        row = await scoped.update_or_raise(
            Category, restaurant_id=restaurant_id, row_id=category_id, values=values
        )
        published = await _published(restaurant_id, "category", msgspec.convert(row, s.Category))
    return published


async def list_products(
    *, restaurant_id: UUID, include_archived: bool, after: Position | None, limit: int
) -> Page[s.Product]:
    rows, cursor = await _page(Product, restaurant_id, include_archived, after, limit)
    return Page(items=await _products(restaurant_id, rows), next_cursor=cursor)


async def get_product(*, restaurant_id: UUID, product_id: UUID) -> s.Product:
    row = await scoped.get_or_raise(Product, restaurant_id=restaurant_id, row_id=product_id)
    return (await _products(restaurant_id, [row]))[0]


async def create_product(*, restaurant_id: UUID, body: s.ProductCreate) -> s.Product:
    await scoped.require_reference(
        Category, restaurant_id=restaurant_id, row_id=body.category_id, field="category_id"
    )
    values = msgspec.structs.asdict(body)
    group_ids: list[UUID] = values.pop("modifier_group_ids")
    values["id"] = body.id or uuid4()
    async with events.collect(), DB.transaction():
        row = await _insert_new(Product, restaurant_id, values)
        await _link_groups(restaurant_id, row["id"], group_ids)
        published = await _published(
            restaurant_id,
            "product",
            await get_product(restaurant_id=restaurant_id, product_id=row["id"]),
        )
    return published


async def update_product(
    *, restaurant_id: UUID, product_id: UUID, body: s.ProductUpdate
) -> s.Product:
    values = scoped.changes(msgspec.structs.asdict(body))
    if values.get("category_id") is not None:
        await scoped.require_reference(
            Category, restaurant_id=restaurant_id, row_id=values["category_id"], field="category_id"
        )
    group_ids: list[UUID] | None = values.pop("modifier_group_ids", None)
    async with events.collect(), DB.transaction():
        await scoped.update_or_raise(
            Product, restaurant_id=restaurant_id, row_id=product_id, values=values
        )
        if group_ids is not None:
            await ProductModifierGroup.delete().where(ProductModifierGroup.product_id == product_id)
            await _link_groups(restaurant_id, product_id, group_ids)
        published = await _published(
            restaurant_id,
            "product",
            await get_product(restaurant_id=restaurant_id, product_id=product_id),
        )
    return published


async def list_modifier_groups(
    *, restaurant_id: UUID, include_archived: bool, after: Position | None, limit: int
) -> Page[s.ModifierGroup]:
    rows, cursor = await _page(ModifierGroup, restaurant_id, include_archived, after, limit)
    return Page(items=msgspec.convert(rows, list[s.ModifierGroup]), next_cursor=cursor)


async def get_modifier_group(*, restaurant_id: UUID, group_id: UUID) -> s.ModifierGroup:
    row = await scoped.get_or_raise(ModifierGroup, restaurant_id=restaurant_id, row_id=group_id)
    return msgspec.convert(row, s.ModifierGroup)


async def create_modifier_group(
    *, restaurant_id: UUID, body: s.ModifierGroupCreate
) -> s.ModifierGroup:
    _check_choices(body.min_choices, body.max_choices)
    values = {**msgspec.structs.asdict(body), "id": body.id or uuid4()}
    async with events.collect(), DB.transaction():
        row = await _insert_new(ModifierGroup, restaurant_id, values)
        group = msgspec.convert(row, s.ModifierGroup)
        published = await _published(restaurant_id, "modifier_group", group)
    return published


async def update_modifier_group(
    *, restaurant_id: UUID, group_id: UUID, body: s.ModifierGroupUpdate
) -> s.ModifierGroup:
    current = await get_modifier_group(restaurant_id=restaurant_id, group_id=group_id)
    values = scoped.changes(msgspec.structs.asdict(body))
    _check_choices(
        values.get("min_choices", current.min_choices),
        values.get("max_choices", current.max_choices),
    )
    async with events.collect(), DB.transaction():
        row = await scoped.update_or_raise(
            ModifierGroup, restaurant_id=restaurant_id, row_id=group_id, values=values
        )
        group = msgspec.convert(row, s.ModifierGroup)
        published = await _published(restaurant_id, "modifier_group", group)
    return published


async def list_modifiers(
    *,
    restaurant_id: UUID,
    group_id: UUID | None,
    include_archived: bool,
    after: Position | None,
    limit: int,
) -> Page[s.Modifier]:
    filters = [] if group_id is None else [Modifier.group_id == group_id]
    rows, cursor = await _page(Modifier, restaurant_id, include_archived, after, limit, filters)
    return Page(items=msgspec.convert(rows, list[s.Modifier]), next_cursor=cursor)


async def get_modifier(*, restaurant_id: UUID, modifier_id: UUID) -> s.Modifier:
    row = await scoped.get_or_raise(Modifier, restaurant_id=restaurant_id, row_id=modifier_id)
    return msgspec.convert(row, s.Modifier)


async def create_modifier(*, restaurant_id: UUID, body: s.ModifierCreate) -> s.Modifier:
    await scoped.require_reference(
        ModifierGroup, restaurant_id=restaurant_id, row_id=body.group_id, field="group_id"
    )
    values = {**msgspec.structs.asdict(body), "id": body.id or uuid4()}
    async with events.collect(), DB.transaction():
        row = await _insert_new(Modifier, restaurant_id, values)
        published = await _published(restaurant_id, "modifier", msgspec.convert(row, s.Modifier))
    return published


async def update_modifier(
    *, restaurant_id: UUID, modifier_id: UUID, body: s.ModifierUpdate
) -> s.Modifier:
    values = scoped.changes(msgspec.structs.asdict(body))
    async with events.collect(), DB.transaction():
        row = await scoped.update_or_raise(
            Modifier, restaurant_id=restaurant_id, row_id=modifier_id, values=values
        )
        published = await _published(restaurant_id, "modifier", msgspec.convert(row, s.Modifier))
    return published


async def list_sold_out(*, restaurant_id: UUID, location_id: UUID) -> list[s.Availability]:
    """The products 86'd at a location (everything else is available)."""
    await scoped.get_or_raise(Location, restaurant_id=restaurant_id, row_id=location_id)
    rows = (
        await Availability.select()
        .where(
            (Availability.restaurant_id == restaurant_id)
            & (Availability.location_id == location_id)
            & (Availability.sold_out == True)  # noqa: E712 - a SQL comparison, not Python's
        )
        .order_by(Availability.updated_at)
    )
    return msgspec.convert(rows, list[s.Availability])


async def set_availability(*, restaurant_id: UUID, body: s.AvailabilitySet) -> s.Availability:
    """86 a product at a location, or bring it back."""
    await scoped.require_reference(
        Location, restaurant_id=restaurant_id, row_id=body.location_id, field="location_id"
    )
    await scoped.require_reference(
        Product, restaurant_id=restaurant_id, row_id=body.product_id, field="product_id"
    )
    # The 86 is a server change to the availability entity; its projection writes the row.
    await publish_availability(
        restaurant_id, body.location_id, body.product_id, sold_out=body.sold_out
    )
    row = (
        await Availability.select(
            Availability.location_id,
            Availability.product_id,
            Availability.sold_out,
            Availability.updated_at,
        )
        .where(
            (Availability.location_id == body.location_id)
            & (Availability.product_id == body.product_id)
        )
        .first()
    )
    return msgspec.convert(row, s.Availability)


async def _published(restaurant_id: UUID, entity_type: str, item: Published) -> Published:
    """Send the saved item to every iPad (see catalog/sync.py) and hand it back; called in
    the transaction that saved it, so an item is never saved without being sent."""
    await publish_menu_item(restaurant_id, entity_type, item)
    return item


def _check_choices(min_choices: int, max_choices: int) -> None:
    if min_choices > max_choices:
        raise ValidationFailed("min_choices must not exceed max_choices", field="min_choices")


async def _insert_new(table: type[Table], restaurant_id: UUID, values: scoped.Row) -> scoped.Row:
    """Insert a row whose id the client may have chosen."""
    await scoped.refuse_taken_id(table, values["id"])
    return await scoped.insert(table, {**values, "restaurant_id": restaurant_id})


async def _page(
    table: type[Table],
    restaurant_id: UUID,
    include_archived: bool,
    after: Position | None,
    limit: int,
    filters: Sequence[scoped.Condition] = (),
) -> tuple[list[scoped.Row], str | None]:
    conditions = list(filters)
    if not include_archived:
        conditions.append(table.archived == False)  # type: ignore[attr-defined]  # noqa: E712
    return await scoped.page(
        table,
        restaurant_id=restaurant_id,
        filters=conditions,
        sort=table.created_at,  # type: ignore[attr-defined]
        after=after,
        limit=limit,
        newest_first=False,
    )


async def _link_groups(restaurant_id: UUID, product_id: UUID, group_ids: list[UUID]) -> None:
    if len(set(group_ids)) != len(group_ids):
        raise ValidationFailed("a modifier group is listed twice", field="modifier_group_ids")
    for group_id in group_ids:
        await scoped.require_reference(
            ModifierGroup, restaurant_id=restaurant_id, row_id=group_id, field="modifier_group_ids"
        )
    if group_ids:
        await ProductModifierGroup.insert(
            *[
                ProductModifierGroup(
                    restaurant_id=restaurant_id,
                    product_id=product_id,
                    group_id=group_id,
                    position=position,
                )
                for position, group_id in enumerate(group_ids)
            ]
        )


async def _products(restaurant_id: UUID, rows: list[scoped.Row]) -> list[s.Product]:
    """Product rows with their currency and modifier groups, in two queries for the page."""
    if not rows:
        return []
    links = await plain.fetch(
        "SELECT product_id, group_id FROM product_modifier_groups"
        " WHERE product_id = ANY($1::uuid[]) ORDER BY position",
        [row["id"] for row in rows],
    )
    groups: dict[UUID, list[UUID]] = {}
    for link in links:
        groups.setdefault(link["product_id"], []).append(link["group_id"])
    currency = await currency_of(restaurant_id)
    return [
        msgspec.convert(
            {**row, "currency": currency, "modifier_group_ids": groups.get(row["id"], [])},
            s.Product,
        )
        for row in rows
    ]
