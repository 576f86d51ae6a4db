"""``fynlo sync gc``: drop deletions every iPad has seen (run daily, e.g. from cron)."""

from __future__ import annotations

import argparse
import asyncio
from datetime import timedelta
from typing import Any

from server.cli.db import connected
from server.restaurants.tables import Restaurant
from server.settings import get_settings
from server.sync.feed import purge_tombstones


def register(commands: Any) -> None:
    parser = commands.add_parser("sync", help="sync engine maintenance")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("gc", help="purge tombstones every active iPad has pulled").set_defaults(
        run=run_gc
    )


def run_gc(args: argparse.Namespace) -> int:
    window = timedelta(days=get_settings().sync_max_offline_days)

    async def purge_all() -> int:
        total = 0
        for row in await Restaurant.select(Restaurant.id):
            total += await purge_tombstones(restaurant_id=row["id"], max_offline=window)
        return total

    print(f"purged {asyncio.run(connected(purge_all))} tombstones")
    return 0
