"""``fynlo sync gc``: drop deletions every iPad has seen, now (the server also does it hourly)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import click

from server.cli.db import connected
from server.settings import get_settings
from server.sync.feed import purge_all_tombstones


@click.group(name="sync")
def sync_group() -> None:
    """Sync engine maintenance."""


@sync_group.command(name="gc")
def run_gc() -> int:
    """Purge tombstones every active iPad has pulled (older than
    FYNLO_SYNC_MAX_OFFLINE_DAYS), now; a running server does it hourly by itself."""
    window = timedelta(days=get_settings().sync_max_offline_days)

    async def purge() -> int:
        return await purge_all_tombstones(max_offline=window)

    click.echo(f"purged {asyncio.run(connected(purge))} tombstones")
    return 0


COMMANDS = (sync_group,)
