"""``fynlo db migrate`` and ``fynlo db status``."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from server.db import engine
from server.db.migrate import migrate, pending_migrations
from server.settings import get_settings

T = TypeVar("T")


def register(commands: Any) -> None:
    parser = commands.add_parser("db", help="database schema")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("migrate", help="apply pending migrations").set_defaults(run=run_migrate)
    actions.add_parser("status", help="list pending migrations").set_defaults(run=run_status)


async def connected(work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` against ``FYNLO_DATABASE_URL`` with a small pool."""
    url = get_settings().database_url
    if not url:
        raise SystemExit("FYNLO_DATABASE_URL is not set (make run sets it for its own cluster)")
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
