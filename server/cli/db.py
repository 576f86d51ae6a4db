"""``fynlo db migrate`` and ``fynlo db status``, and how every command finds the database."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import click

from server.db import engine
from server.db.cluster import running_dsn
from server.db.migrate import migrate, pending_migrations
from server.settings import get_settings

T = TypeVar("T")


def database_url() -> str | None:
    """``FYNLO_DATABASE_URL``, else the private cluster a running ``make run`` serves from
    ``FYNLO_DATA_DIR/postgres``: every ``fynlo`` command finds the database the same way."""
    settings = get_settings()
    return settings.database_url or running_dsn(settings.data_dir / "postgres")


def without_password(url: str) -> str:
    """A DSN fit to print: its password, if any, as ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


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


@click.group(name="db")
def db_group() -> None:
    """Database schema: apply or list migrations."""


@db_group.command(name="migrate")
def run_migrate() -> int:
    """Apply pending migrations."""
    asyncio.run(connected(migrate))
    click.echo("migrations applied")
    return 0


@db_group.command(name="status")
def run_status() -> int:
    """List pending migrations; exits 1 if any are pending."""
    pending = asyncio.run(connected(pending_migrations))
    for migration in pending:
        click.echo(f"pending {migration}")
    click.echo(f"{len(pending)} pending")
    return 1 if pending else 0


COMMANDS = (db_group,)
