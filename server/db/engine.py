"""The one database engine and its connection pool."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import asyncpg
from piccolo.engine.postgres import PostgresEngine

from server import events


class FynloEngine(PostgresEngine):
    """Piccolo's PostgreSQL engine, configured late and without an import-time connection."""

    async def check_version(self) -> None:
        # Piccolo connects during __init__ to check the server version; we configure the DSN
        # later (the dev runner starts the cluster first) and `/ready` checks the database.
        return None


DB = FynloEngine(config={})


def configure(dsn: str) -> None:
    """Point the engine at ``dsn``; call before the pool starts."""
    DB.config = {"dsn": dsn}


async def open_pool(*, min_size: int, max_size: int) -> None:
    """Start the shared asyncpg pool (Piccolo defaults min_size to 10, so both are passed)."""
    await DB.start_connection_pool(min_size=min_size, max_size=max_size, reset=_no_session_state)


async def _no_session_state(conn: asyncpg.Connection) -> None:
    """On release, asyncpg always rolls back a transaction left open and drops listeners;
    its default reset then sends ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET
    ALL`` too: one more round trip per checkout, about a tenth of a read's CPU here.

    We skip that query because the server keeps no session state on pooled connections:
    advisory locks are transaction-scoped (``pg_advisory_xact_lock``), settings are ``SET
    LOCAL``, nothing ``LISTEN``s, no cursor outlives its transaction, and the tenant is a
    parameter of every statement, never a session variable.
    ``tests/unit/test_pool_session_state.py`` fails if code that would need it appears.
    """
    return None


async def close_pool() -> None:
    """Close the pool, waiting for borrowed connections to come back."""
    if DB.pool is not None:
        await DB.close_connection_pool()


@contextlib.asynccontextmanager
async def connection() -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection, for code that speaks SQL to asyncpg directly."""
    assert DB.pool is not None, "the pool is opened by the app's lifespan or the CLI"
    async with DB.pool.acquire() as conn:
        yield conn


@contextlib.asynccontextmanager
async def transaction() -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection inside a transaction that commits when the block ends; events
    announced inside are published after the commit."""
    async with events.collect(), connection() as conn, conn.transaction():
        yield conn
