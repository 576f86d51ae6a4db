"""The one database engine and its connection pool, every wait on it bounded.

Connecting, borrowing a connection and each statement have a deadline (docs/configuration.md,
``FYNLO_DB_*_TIMEOUT_SECONDS``), so a database that is down, slow or silent fails a request
with a 503 instead of hanging it (``server/errors.py``, ``DATABASE_UNAVAILABLE``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import asyncpg
from piccolo.engine.postgres import PostgresEngine

from server import events
from server.settings import Settings, get_settings

# The client waits this much longer than PostgreSQL's statement_timeout: a statement the
# server times out comes back as a clean QueryCanceledError, and only a database that cannot
# answer at all (a dead link, a stopped host) is left to the client's own timer.
CLIENT_GRACE_SECONDS = 1.0


class FynloEngine(PostgresEngine):
    """Piccolo's PostgreSQL engine, configured late and without an import-time connection."""

    async def check_version(self) -> None:
        # Piccolo connects during __init__ to check the server version; we configure the DSN
        # later (the dev runner starts the cluster first) and `/ready` checks the database.
        return None


DB = FynloEngine(config={})
_settings: Settings | None = None


def configure(dsn: str, settings: Settings | None = None) -> None:
    """Point the engine at ``dsn`` with the timeouts of ``settings`` (the process's by
    default); call before the pool starts."""
    global _settings
    DB.config = {"dsn": dsn}
    _settings = settings or get_settings()


def _timeouts() -> Settings:
    return _settings or get_settings()


async def open_pool(*, min_size: int, max_size: int, statement_timeout: bool = False) -> None:
    """Start the shared asyncpg pool (Piccolo defaults min_size to 10, so both are passed).

    Piccolo hands these keywords to ``asyncpg.create_pool`` on top of ``DB.config``. With
    ``statement_timeout`` (the server's pool) every statement is bounded; the command-line
    tools leave it off, as a migration or a reconcile over months may rightly run long.
    """
    limits = _timeouts()
    bounds: dict[str, object] = {}
    if statement_timeout:
        statement_ms = round(limits.db_statement_timeout_seconds * 1000)
        bounds = {
            "command_timeout": limits.db_statement_timeout_seconds + CLIENT_GRACE_SECONDS,
            # Sent in the start-up packet, so every connection has them from its first
            # statement and none is ever SET on a pooled connection (no session state: see
            # ``_no_session_state``). A transaction its client lost mid-way (cancelled by the
            # request deadline on a dead link) stops holding its row locks a second after a
            # statement would have been cut.
            "server_settings": {
                "statement_timeout": str(statement_ms),
                "idle_in_transaction_session_timeout": str(
                    statement_ms + round(CLIENT_GRACE_SECONDS * 1000)
                ),
            },
        }
    await DB.start_connection_pool(
        min_size=min_size,
        max_size=max_size,
        reset=_no_session_state,
        timeout=limits.db_connect_timeout_seconds,
        **bounds,
    )


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
    """A pooled connection, for code that speaks SQL to asyncpg directly.

    Borrowing waits at most ``FYNLO_DB_ACQUIRE_TIMEOUT_SECONDS`` (connecting included) and
    raises TimeoutError after; asyncpg applies the same bound to handing it back. Piccolo's
    own queries and ``DB.transaction()`` borrow without a bound: the request deadline
    (``server/deadline.py``) bounds those.
    """
    assert DB.pool is not None, "the pool is opened by the app's lifespan or the CLI"
    async with DB.pool.acquire(timeout=_timeouts().db_acquire_timeout_seconds) as conn:
        yield conn


@contextlib.asynccontextmanager
async def transaction() -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection inside a transaction that commits when the block ends; events
    announced inside are published after the commit."""
    async with events.collect(), connection() as conn, conn.transaction():
        yield conn
