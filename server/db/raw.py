"""Raw SQL steps for migrations: constraints Piccolo's column API cannot declare."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from piccolo.table import Table


def raw_sql(sql: str) -> Callable[[], Awaitable[None]]:
    """A migration step that runs ``sql`` inside the migration's transaction."""

    async def run() -> None:
        await Table.raw(sql)

    return run
