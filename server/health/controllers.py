"""``/health`` says the process is alive; ``/ready`` says it can serve (database and schema)."""

from __future__ import annotations

import asyncio

from litestar import get
from litestar.exceptions import ServiceUnavailableException

from server.auth.dependencies import PUBLIC
from server.db.engine import DB
from server.db.migrate import pending_migrations
from server.errors import Unavailable
from server.wire import Wire

# A probe that hangs is worse than one that fails: orchestrators time out and restart.
READY_TIMEOUT_SECONDS = 2.0


class Status(Wire, kw_only=True):
    status: str


@get("/health", tags=["health"], summary="The process is alive", opt=PUBLIC, security=[])
async def health() -> Status:
    return Status(status="ok")


@get(
    "/ready",
    tags=["health"],
    summary="The database is reachable and migrated",
    opt=PUBLIC,
    security=[],
    raises=[ServiceUnavailableException],  # documents the 503 the handler answers when not ready
)
async def ready() -> Status:
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            await DB.run_ddl("SELECT 1")
            pending = await pending_migrations()
    except (OSError, TimeoutError) as exc:
        raise Unavailable("database unreachable", reason="database_unreachable") from exc
    except Exception as exc:  # asyncpg raises many types; any of them means "not ready"
        raise Unavailable(f"database error: {type(exc).__name__}", reason="database_error") from exc
    if pending:
        raise Unavailable(
            f"{len(pending)} migrations not applied", reason="migrations_pending", pending=pending
        )
    return Status(status="ready")
