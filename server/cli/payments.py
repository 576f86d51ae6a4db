"""``fynlo reconcile`` and ``fynlo payments sweep``: for support staff and cron.

``reconcile`` compares our ledger with each provider's books for a window (yesterday, UTC,
by default) and exits 1 if anything differs by a penny, printing what and where. Run it
nightly; read docs/payments.md for what each finding means and what to do.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import UTC, datetime, time, timedelta
from typing import Any
from uuid import UUID

from server.cli.db import connected
from server.payments import gateway, poller
from server.payments.reconcile import Report, reconcile
from server.payments.setup import gateway_from_settings
from server.settings import get_settings


def register(commands: Any) -> None:
    parser = commands.add_parser("reconcile", help="compare our ledger with the providers'")
    parser.add_argument("--since", type=_instant, help="start (RFC 3339); default yesterday")
    parser.add_argument("--until", type=_instant, help="end (RFC 3339), exclusive")
    parser.add_argument("--restaurant", type=UUID, help="only this restaurant's payments")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(run=run_reconcile)
    payments = commands.add_parser("payments", help="payments maintenance")
    actions = payments.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("sweep", help="settle stuck payments and refunds once").set_defaults(
        run=run_sweep
    )


def run_reconcile(args: argparse.Namespace) -> int:
    today = datetime.combine(datetime.now(UTC).date(), time(), tzinfo=UTC)
    since: datetime = args.since or today - timedelta(days=1)
    until: datetime = args.until or since + timedelta(days=1)
    if until <= since:
        print("error: --until must be after --since")
        return 2
    report = asyncio.run(
        connected(lambda: _with_gateway(reconcile(since, until, restaurant_id=args.restaurant)))
    )
    print(json.dumps(report.as_dict(), indent=2) if args.json else _text(report))
    return 0 if report.balanced else 1


def run_sweep(args: argparse.Namespace) -> int:
    report = asyncio.run(connected(lambda: _with_gateway(poller.sweep())))
    print(json.dumps(report.__dict__))
    return 0


async def _with_gateway(work: Any) -> Any:
    installed = gateway_from_settings(get_settings())
    gateway.install(installed)
    try:
        return await work
    finally:
        await installed.close()
        gateway.install(None)


def _text(report: Report) -> str:
    lines = [f"Reconciliation {report.since.isoformat()} to {report.until.isoformat()}"]
    for provider in sorted(set(report.ours_net) | set(report.theirs_net)):
        ours, theirs = report.ours_net.get(provider, 0), report.theirs_net.get(provider, 0)
        lines.append(f"  {provider}: ours {ours}p, provider {theirs}p, difference {ours - theirs}p")
    if report.fees_recorded:
        lines.append(f"  provider fees recorded from the provider's books: {report.fees_recorded}")
    for finding in report.findings:
        where = " ".join(
            f"{k}={v}"
            for k, v in (
                ("provider", finding.provider),
                ("payment", finding.payment_id),
                ("order", finding.order_id),
                ("reference", finding.reference),
                ("ours", finding.ours),
                ("theirs", finding.theirs),
            )
            if v is not None
        )
        lines.append(f"  ! {finding.kind}: {finding.detail} ({where})")
    lines.append("BALANCED" if report.balanced else "NOT BALANCED")
    return "\n".join(lines)


def _instant(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError("give a time zone, e.g. 2026-11-26T00:00:00Z")
    return value
