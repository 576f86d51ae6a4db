"""``fynlo sync gc``: drop deletions every iPad has seen (run daily, e.g. from cron)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import click

from server.cli.db import connected
from server.restaurants.tables import Restaurant
from server.settings import get_settings
from server.sync.feed import purge_tombstones


@click.group(name="sync")
def sync_group() -> None:
    """Sync engine maintenance."""


@sync_group.command(name="gc")
def run_gc() -> int:
    """Purge tombstones every active iPad has pulled (older than
    FYNLO_SYNC_MAX_OFFLINE_DAYS); run daily."""
    window = timedelta(days=get_settings().sync_max_offline_days)

    async def purge_all() -> int:
        total = 0
        for row in await Restaurant.select(Restaurant.id):
            total += await purge_tombstones(restaurant_id=row["id"], max_offline=window)
        return total

    click.echo(f"purged {asyncio.run(connected(purge_all))} tombstones")
    return 0


COMMANDS = (sync_group,)
