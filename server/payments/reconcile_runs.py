"""What each ``fynlo reconcile`` run found, kept for the managers (``latest``) and ``/metrics``.

A run is one row of ``reconcile_runs`` (its window, whether it balanced, and its findings
counted by kind for ``domain_metrics``) and one row of ``reconcile_findings`` per finding,
plus one ``net_mismatch`` per provider whose total for the window differs from ours.

Each finding belongs to the restaurant of the payment or order it names, else to the run's
restaurant: a run over every restaurant (``fynlo reconcile`` without ``--restaurant``, the
nightly default) is shown to each restaurant as its own findings, and a finding nobody's
payment explains (money at the provider we have no record of, a provider's total) in such a
run is the operator's alone, in the command's output. A restaurant's latest run is the
newest run over it alone or over every restaurant.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import TYPE_CHECKING, Any
from uuid import UUID

import msgspec

from server.db.engine import connection, transaction
from server.payments import schemas as s
from server.restaurants.services import currency_of

if TYPE_CHECKING:
    from server.payments.reconcile import Report

SHOWN = 500
"""Findings of one run a manager is shown at most: a run that finds more needs support."""

_FINDINGS = """
INSERT INTO reconcile_findings (run_id, restaurant_id, location_id, kind, detail, provider,
    payment_id, order_id, reference, ours, theirs)
SELECT $1, coalesce(p.restaurant_id, o.restaurant_id, $2::uuid),
    coalesce(p.location_id, o.location_id), f.kind, f.detail, f.provider, f.payment_id,
    coalesce(f.order_id, p.order_id), f.reference, f.ours, f.theirs
FROM ROWS FROM (jsonb_to_recordset($3::jsonb) AS (kind text, detail text, provider text,
    payment_id uuid, order_id uuid, reference text, ours bigint, theirs bigint))
    WITH ORDINALITY AS f (kind, detail, provider, payment_id, order_id, reference, ours, theirs, n)
LEFT JOIN payments p ON p.id = f.payment_id
LEFT JOIN orders o ON o.id = f.order_id
ORDER BY f.n
"""


async def record(report: Report, restaurant_id: UUID | None) -> None:
    """Keep the run: its findings counted by kind, and each finding for the managers."""
    findings = [dataclasses.asdict(finding) for finding in report.findings]
    for provider in sorted(set(report.ours_net) | set(report.theirs_net)):
        ours, theirs = report.ours_net.get(provider, 0), report.theirs_net.get(provider, 0)
        if ours != theirs:
            findings.append(
                {
                    "kind": "net_mismatch",
                    "detail": "the provider's total for the window differs from ours",
                    "provider": provider,
                    "ours": ours,
                    "theirs": theirs,
                }
            )
    counts = Counter(finding["kind"] for finding in findings)
    counts["net_mismatch"] += 0  # always a series, so a balanced run reads 0
    async with transaction() as conn:
        run_id = await conn.fetchval(
            "INSERT INTO reconcile_runs (since, until, restaurant_id, balanced, findings)"
            " VALUES ($1, $2, $3, $4, $5) RETURNING id",
            report.since,
            report.until,
            restaurant_id,
            report.balanced,
            msgspec.json.encode(dict(counts)).decode(),
        )
        if findings:
            await conn.execute(
                _FINDINGS, run_id, restaurant_id, msgspec.json.encode(findings).decode()
            )


async def latest(*, restaurant_id: UUID, location_id: UUID | None) -> s.ReconcileRun | None:
    """The newest run over this restaurant with its findings (of ``location_id`` only, if
    given), None if none has run; another restaurant's run is never seen."""
    async with connection() as conn:
        run = await conn.fetchrow(
            "SELECT id, at, since, until FROM reconcile_runs"
            " WHERE restaurant_id = $1 OR restaurant_id IS NULL ORDER BY at DESC, id DESC LIMIT 1",
            restaurant_id,
        )
        if run is None:
            return None
        rows = await conn.fetch(
            "SELECT f.*, o.number AS order_number FROM reconcile_findings f"
            " LEFT JOIN orders o ON o.id = f.order_id AND o.restaurant_id = f.restaurant_id"
            " WHERE f.run_id = $1 AND f.restaurant_id = $2"
            " AND ($3::uuid IS NULL OR f.location_id = $3) ORDER BY f.id LIMIT $4",
            run["id"],
            restaurant_id,
            location_id,
            SHOWN,
        )
    return s.ReconcileRun(
        at=run["at"],
        since=run["since"],
        until=run["until"],
        currency=(await currency_of(restaurant_id)).strip(),
        balanced=not rows,
        findings=[_finding(row) for row in rows],
    )


def _finding(row: Any) -> s.ReconcileFinding:
    return s.ReconcileFinding(
        kind=row["kind"],
        detail=row["detail"],
        provider=row["provider"],
        payment_id=row["payment_id"],
        order_id=row["order_id"],
        order_number=row["order_number"],
        reference=row["reference"],
        ours=row["ours"],
        theirs=row["theirs"],
    )
