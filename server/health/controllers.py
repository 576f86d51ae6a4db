"""``/health`` says the process is alive; ``/ready`` says it can serve (database and schema),
and which optional dependency it serves without (``degraded``)."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from litestar import get
from litestar.channels import ChannelsPlugin
from litestar.di import NamedDependency
from litestar.exceptions import ServiceUnavailableException

from server.auth.dependencies import PUBLIC
from server.db.engine import DB
from server.db.migrate import pending_migrations
from server.deadline import within
from server.errors import RETRY_AFTER_SECONDS, Unavailable
from server.realtime.setup import degraded
from server.wire import Wire

# A probe that hangs is worse than one that fails: orchestrators time out and restart.
READY_TIMEOUT_SECONDS = 2.0


class Status(Wire, kw_only=True):
    status: str


class Readiness(Wire, kw_only=True, omit_defaults=True):
    status: Literal["ready", "degraded"]
    """``degraded``: serving, without what ``degraded`` names."""
    degraded: list[Literal["redis"]] = msgspec.field(default_factory=list)
    """Unreachable optional dependencies. Without Redis, real-time pokes are dropped (devices
    poll) and sign-in, refresh and PIN answer 503 (their rate limits fail closed)."""


@get("/health", tags=["health"], summary="The process is alive", opt=PUBLIC, security=[])
async def health() -> Status:
    return Status(status="ok")


@get(
    "/ready",
    tags=["health"],
    summary="The database is reachable and migrated (and whether Redis is)",
    description=(
        '200 `{"status": "ready"}` when all is well; 200 `{"status": "degraded", "degraded":'
        ' ["redis"]}` while the configured Redis does not answer (the server serves: real-time'
        " pokes are dropped, devices poll, and sign-in, refresh and PIN answer 503); 503"
        " `unavailable` with `dependency` (`database`) and `reason` when the database is"
        " unreachable or migrations are pending."
    ),
    opt=PUBLIC,
    security=[],
    raises=[ServiceUnavailableException],  # documents the 503 the handler answers when not ready
)
async def ready(channels: NamedDependency[ChannelsPlugin]) -> Readiness:
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
    unreachable = await degraded(channels)
    if unreachable:
        return Readiness(status="degraded", degraded=unreachable)
    return Readiness(status="ready")


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
