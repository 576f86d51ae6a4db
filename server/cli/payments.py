"""``fynlo payments sweep``: settle stuck payments and refunds once (the poller's work), for
support staff and cron. ``fynlo reconcile`` is in ``server/cli/reconcile.py``."""

from __future__ import annotations

import asyncio
import json

import click

from server.cli.db import connected
from server.cli.providers import command_providers
from server.payments import gateway, poller
from server.settings import get_settings


@click.group(name="payments")
def payments_group() -> None:
    """Payments maintenance."""


@payments_group.command(name="sweep")
def run_sweep() -> int:
    """Settle stuck payments and refunds once, as the server's poller does, against the
    providers `fynlo reconcile` uses; prints what it did as JSON."""
    report = asyncio.run(connected(_sweep))
    click.echo(json.dumps(report.__dict__))
    return 0


async def _sweep() -> poller.Sweep:
    installed = command_providers(get_settings()).gateway
    gateway.install(installed)
    try:
        return await poller.sweep()
    finally:
        await installed.close()
        gateway.install(None)


COMMANDS = (payments_group,)
