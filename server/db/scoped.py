"""Tenant-scoped row access: every read and write names the restaurant it belongs to.

A row of another restaurant is reported exactly as a missing row, so ids cannot be probed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import msgspec
from piccolo.columns import Column
from piccolo.columns.combination import Where, WhereRaw
from piccolo.table import Table

from server.db import plain
from server.errors import Conflict, NotFound, ValidationFailed
from server.pagination import Position, encode_cursor

Row = dict[str, Any]
Condition = Where | WhereRaw | Any


def _owned(table: type[Table], restaurant_id: UUID, row_id: UUID) -> Condition:
    return (table._meta.primary_key == row_id) & (table.restaurant_id == restaurant_id)  # type: ignore[attr-defined]


async def get_or_raise(table: type[Table], *, restaurant_id: UUID, row_id: UUID) -> Row:
    """The row with this id in this restaurant, or ``NotFound``."""
    rows = await plain.fetch(plain.by_id_sql(table), row_id, restaurant_id)
    if not rows:
        raise NotFound(f"no such {_noun(table)}")
    return rows[0]


async def require_reference(
    table: type[Table], *, restaurant_id: UUID, row_id: UUID | None, field: str
) -> None:
    """Refuse a body that points at a row this restaurant does not have."""
    if row_id is None:
        return
    exists: bool = await table.exists().where(_owned(table, restaurant_id, row_id))
    if not exists:
        raise ValidationFailed(f"no such {_noun(table)}", field=field)


async def refuse_taken_id(table: type[Table], row_id: UUID) -> None:
    """A client-chosen id that is already used is a 409, never an overwrite."""
    if await table.exists().where(table._meta.primary_key == row_id):
        raise Conflict("a row with this id already exists", field="id")


async def insert(table: type[Table], values: Row) -> Row:
    """Insert one row and return it as stored (defaults filled in)."""
    rows: list[Row] = await table.insert(table(**values)).returning(*table._meta.columns)
    return rows[0]


async def update_or_raise(
    table: type[Table], *, restaurant_id: UUID, row_id: UUID, values: Row
) -> Row:
    """Apply ``values`` to the row and return it; ``NotFound`` if it is not this restaurant's."""
    if not values:
        return await get_or_raise(table, restaurant_id=restaurant_id, row_id=row_id)
    columns: dict[Column | str, Any] = {
        table._meta.get_column_by_name(name): value for name, value in values.items()
    }
    rows: list[Row] = (
        await table.update(columns)
        .where(_owned(table, restaurant_id, row_id))
        .returning(*table._meta.columns)
    )
    if not rows:
        raise NotFound(f"no such {_noun(table)}")
    return rows[0]


async def page(
    table: type[Table],
    *,
    restaurant_id: UUID,
    filters: Sequence[Condition],
    sort: Column,
    after: Position | None,
    limit: int,
    newest_first: bool,
) -> tuple[list[Row], str | None]:
    """One keyset page ordered by ``(sort, id)``; the cursor names the last row returned."""
    id_column = table._meta.primary_key
    clauses: list[str] = []
    args: list[Any] = []
    if filters:
        # Only the caller's filters go through Piccolo (the rest of the text is fixed).
        combined = filters[0]
        for condition in filters[1:]:
            combined = combined & condition
        text, filter_args = combined.querystring.compile_string(engine_type="postgres")
        clauses.append(text)
        args.extend(filter_args)
    args.append(restaurant_id)
    clauses.append(f'"restaurant_id" = ${len(args)}')
    sort_name, id_name = sort._meta.db_column_name, id_column._meta.db_column_name
    direction = "DESC" if newest_first else "ASC"
    if after is not None:
        args += [after.at, after.id]
        op = "<" if newest_first else ">"
        clauses.append(f'("{sort_name}", "{id_name}") {op} (${len(args) - 1}, ${len(args)})')
    args.append(limit + 1)
    rows = await plain.fetch(
        f'SELECT {plain.columns(table)} FROM "{table._meta.tablename}"'
        f" WHERE {' AND '.join(clauses)}"
        f' ORDER BY "{sort_name}" {direction}, "{id_name}" {direction} LIMIT ${len(args)}',
        *args,
    )
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, encode_cursor(Position(at=last[sort._meta.name], id=last["id"]))


def changes(struct_fields: Row) -> Row:
    """The fields a PATCH body actually set (msgspec marks the others ``UNSET``)."""
    return {k: v for k, v in struct_fields.items() if v is not msgspec.UNSET}


def _noun(table: type[Table]) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", " ", table.__name__).lower()
