"""The numbers an operator graphs, beside the HTTP metrics on ``/metrics``.

Two kinds, by where the truth lives:

- **Counted as it happens** in this process (Prometheus counters, summed across processes
  by the scraper): sync pushes and their changes by outcome, conflicts by the rule that
  merged them (``record_push``, called by the sync engine once a push has committed).
- **Read when scraped** (gauges, ``refresh``): what the database or the process knows right
  now — payments of the last day by state and method, how far each location's iPads are
  behind the feed, devices online and sockets open on this process, each provider's circuit,
  and the last ``fynlo reconcile`` run's findings. One query for each, bounded by indexes or
  by the last day, so a scrape every 15 seconds costs the database little.

Counts only: no amounts, names or ids other than a location's (for the lag), which a
restaurant's own operator needs and which says nothing about its customers.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec
from prometheus_client import Counter, Gauge

from server.db.engine import connection

SYNC_PUSHES = Counter(
    "fynlo_sync_pushes", "Sync pushes answered, by outcome (accepted, refused)", ["outcome"]
)
SYNC_CHANGES = Counter(
    "fynlo_sync_changes",
    "Changes in accepted pushes, by outcome (applied, merged, stale, rejected, duplicate)",
    ["outcome"],
)
SYNC_CONFLICTS = Counter(
    "fynlo_sync_conflicts", "Concurrent edits the server merged, by the rule that decided", ["rule"]
)
PAYMENTS = Gauge(
    "fynlo_payments_last_day",
    "Payments made in the last 24 hours, by state and method",
    ["state", "method"],
)
FEED_LAG = Gauge(
    "fynlo_sync_feed_lag_seconds",
    "Per location: how long ago its furthest-behind active iPad last pulled",
    ["location_id"],
)
DEVICES_ONLINE = Gauge("fynlo_devices_online", "iPads with a socket open to this process")
SOCKETS_OPEN = Gauge("fynlo_sockets_open", "Real-time sockets open on this process")
SOCKETS_TOO_SLOW = Counter(
    "fynlo_sockets_too_slow",
    "Real-time sockets closed with 4429: their client read too slowly to keep up",
)
PUBLISH_DROPPED = Counter(
    "fynlo_realtime_publish_dropped",
    "Real-time events not published, by reason (redis_down, queue_full, shutdown)",
    ["reason"],
)
CIRCUIT_OPEN = Gauge(
    "fynlo_provider_circuit_open", "1 while a payment provider's circuit is open", ["provider"]
)
RECONCILE_FINDINGS = Gauge(
    "fynlo_reconcile_findings", "Findings of the last fynlo reconcile run, by kind", ["kind"]
)
RECONCILE_LAST_RUN = Gauge(
    "fynlo_reconcile_last_run_timestamp_seconds", "When fynlo reconcile last ran (Unix time)"
)

ACTIVE_DEVICE_DAYS = 7
"""An iPad that has not pulled for this long is taken to be out of use, not behind."""


def record_push(accepted: bool, outcomes: Iterable[str], rules: Iterable[str]) -> None:
    """Count one push: its outcome, each change's outcome, each conflict's rule."""
    SYNC_PUSHES.labels("accepted" if accepted else "refused").inc()
    for outcome in outcomes:
        SYNC_CHANGES.labels(outcome).inc()
    for rule in rules:
        SYNC_CONFLICTS.labels(rule).inc()


async def refresh(*, hub: Any, circuits: dict[str, bool]) -> None:
    """Set the gauges read when scraped; ``circuits`` is each provider's open state."""
    async with connection() as conn:
        payments = await conn.fetch(
            "SELECT state, method, count(*) AS n FROM payments"
            " WHERE created_at > now() - interval '1 day' GROUP BY state, method"
        )
        lags = await conn.fetch(
            "SELECT location_id, extract(epoch FROM now() - min(last_pull_at)) AS lag"
            " FROM sync_devices WHERE last_pull_at > now() - $1::int * interval '1 day'"
            " GROUP BY location_id",
            ACTIVE_DEVICE_DAYS,
        )
        run = await conn.fetchrow(
            "SELECT extract(epoch FROM at) AS at, findings FROM reconcile_runs"
            " ORDER BY at DESC LIMIT 1"
        )
    _set(PAYMENTS, {(r["state"], r["method"]): r["n"] for r in payments})
    _set(FEED_LAG, {(str(r["location_id"]),): float(r["lag"]) for r in lags})
    DEVICES_ONLINE.set(len(hub.devices_online()) if hub is not None else 0)
    SOCKETS_OPEN.set(hub.sockets_open() if hub is not None else 0)
    _set(CIRCUIT_OPEN, {(name,): int(is_open) for name, is_open in circuits.items()})
    if run is not None:
        counts: dict[str, int] = msgspec.json.decode(run["findings"])
        _set(RECONCILE_FINDINGS, {(kind,): n for kind, n in counts.items()})
        RECONCILE_LAST_RUN.set(float(run["at"]))


def _set(gauge: Gauge, values: dict[tuple[str, ...], float]) -> None:
    """Replace a labelled gauge's series: a label set gone from the data is dropped."""
    gauge.clear()
    for labels, value in values.items():
        gauge.labels(*labels).set(value)
