"""Fixed SQL on asyncpg for the hot read paths, in the transaction when there is one.

Piccolo builds a query's SQL text afresh on every call, and on the back office's reads that
cost more CPU than PostgreSQL spent answering (docs/performance.md, "Authenticated reads").
Here the text is built once per table and asyncpg keeps each statement prepared per
connection. Rows come back as Piccolo's ``select()`` gives them: a dict per row keyed by
column name, JSON columns as text.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from piccolo.table import Table

from server.db.engine import DB, connection

Row = dict[str, Any]


async def fetch(sql: str, *args: Any) -> list[Row]:
    """Rows of ``sql``, on the current Piccolo transaction's connection if one is open."""
    transaction = DB.current_transaction.get()
    if transaction is not None:
        records = await transaction.connection.fetch(sql, *args)
    else:
        async with connection() as conn:
            records = await conn.fetch(sql, *args)
    return [dict(record) for record in records]


@cache
def columns(table: type[Table]) -> str:
    """The select list of every column of ``table``, named as Piccolo names them."""
    return ", ".join(
        f'"{column._meta.db_column_name}" AS "{column._meta.name}"'
        for column in table._meta.columns
    )


@cache
def by_id_sql(table: type[Table]) -> str:
    """One row by primary key, of one restaurant: ``$1`` the id, ``$2`` the restaurant."""
    key = table._meta.primary_key._meta.db_column_name
    return (
        f'SELECT {columns(table)} FROM "{table._meta.tablename}"'
        f' WHERE "{key}" = $1 AND "restaurant_id" = $2'
    )
