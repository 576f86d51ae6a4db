"""``fynlo db migrate`` and ``fynlo db status``."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from server.db import engine
from server.db.cluster import running_dsn
from server.db.migrate import migrate, pending_migrations
from server.settings import get_settings

T = TypeVar("T")


def register(commands: Any) -> None:
    parser = commands.add_parser("db", help="database schema")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("migrate", help="apply pending migrations").set_defaults(run=run_migrate)
    actions.add_parser("status", help="list pending migrations").set_defaults(run=run_status)


def database_url() -> str | None:
    """``FYNLO_DATABASE_URL``, else the private cluster a running ``make run`` serves from
    ``FYNLO_DATA_DIR/postgres``: every ``fynlo`` command finds the database the same way."""
    settings = get_settings()
    return settings.database_url or running_dsn(settings.data_dir / "postgres")


NO_DATABASE = (
    "No database: start `make run` (fynlo commands then use its cluster in {folder}), "
    "or set FYNLO_DATABASE_URL."
)


async def connected(work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` against ``database_url()`` with a small pool."""
    url = database_url()
    if not url:
        raise SystemExit(NO_DATABASE.format(folder=get_settings().data_dir / "postgres"))
    engine.configure(url)
    await engine.open_pool(min_size=1, max_size=2)
    try:
        return await work()
    finally:
        await engine.close_pool()


def run_migrate(args: argparse.Namespace) -> int:
    asyncio.run(connected(migrate))
    print("migrations applied")
    return 0


def run_status(args: argparse.Namespace) -> int:
    pending = asyncio.run(connected(pending_migrations))
    for migration in pending:
        print(f"pending {migration}")
    print(f"{len(pending)} pending")
    return 1 if pending else 0
