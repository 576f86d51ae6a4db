"""``/health`` says the process is alive; ``/ready`` says it can serve (database and schema)."""

from __future__ import annotations

from typing import Any

from litestar import get
from litestar.exceptions import ServiceUnavailableException

from server.auth.dependencies import PUBLIC
from server.db.engine import DB
from server.db.migrate import pending_migrations
from server.deadline import within
from server.errors import RETRY_AFTER_SECONDS, Unavailable
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
        # ``within``, not ``asyncio.timeout``: the answer must not wait for a query cut on a
        # dead link to finish unwinding.
        pending = await within(READY_TIMEOUT_SECONDS, _pending_migrations())
    except (OSError, TimeoutError) as exc:
        raise _not_ready("database unreachable", "database_unreachable") from exc
    except Exception as exc:  # asyncpg raises many types; any of them means "not ready"
        raise _not_ready(f"database error: {type(exc).__name__}", "database_error") from exc
    if pending:
        raise _not_ready(
            f"{len(pending)} migrations not applied", "migrations_pending", pending=pending
        )
    return Status(status="ready")


async def _pending_migrations() -> list[str]:
    await DB.run_ddl("SELECT 1")
    return await pending_migrations()


def _not_ready(detail: str, reason: str, **extra: Any) -> Unavailable:
    return Unavailable(
        detail,
        dependency="database",
        reason=reason,
        retry_after_seconds=RETRY_AFTER_SECONDS,
        **extra,
    )
