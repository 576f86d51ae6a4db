"""Reconcile our ledger with each provider's own books, to the penny, both ways.

For a window of time, every movement the provider lists (a charge, a refund) must match a
payment or refund of ours in the same state and amount, and every succeeded payment or
refund of ours must appear in the provider's books. The provider's actual fee is recorded
where we have none and compared where we do. Our own books are checked too: orders paid
more than their total (two iPads took cash offline), payments stuck past expiry, refunds
stuck pending, and cards taken offline in the window that are owed (declined after the
customer left, and not paid since), held for a manager, or not at Stripe a day later.
Nothing is deleted or changed except filling in a missing provider fee: findings are
evidence for a person to act on, kept with the run for the back office
(``reconcile_runs``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from server.db.engine import connection, transaction
from server.payments import gateway, ledger, offline_cards, reconcile_runs
from server.payments.providers.base import LedgerEntry, LedgerSource

# Provider books and ours stamp the same movement a little apart; entries this close
# outside the window are still matched, so a payment at 23:59:59 is not "missing".
SLACK = timedelta(hours=1)
STUCK_AFTER = timedelta(minutes=5)
REFUND_STUCK_AFTER = timedelta(hours=1)


@dataclass(frozen=True)
class Finding:
    kind: str
    detail: str
    provider: str | None = None
    payment_id: UUID | None = None
    reference: str | None = None
    ours: int | None = None
    theirs: int | None = None
    order_id: UUID | None = None


@dataclass
class Report:
    since: datetime
    until: datetime
    findings: list[Finding] = field(default_factory=list)
    ours_net: dict[str, int] = field(default_factory=dict)
    theirs_net: dict[str, int] = field(default_factory=dict)
    fees_recorded: int = 0
    ours_count: dict[str, int] = field(default_factory=dict)
    """Our succeeded payments and refunds in the window, by provider (cash too: checked
    against their orders)."""
    theirs_count: dict[str, int] = field(default_factory=dict)
    """Movements each provider's books list in the window."""

    @property
    def balanced(self) -> bool:
        return not self.findings and self.ours_net == self.theirs_net

    @property
    def compared_nothing(self) -> bool:
        """No payment of ours in the window and no provider listed any: "balanced" would
        only mean nobody looked at anything."""
        return not any(self.ours_count.values()) and not any(self.theirs_count.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "balanced": self.balanced,
            "ours_net": self.ours_net,
            "theirs_net": self.theirs_net,
            "fees_recorded": self.fees_recorded,
            "ours_count": self.ours_count,
            "theirs_count": self.theirs_count,
            "findings": [
                {k: (str(v) if isinstance(v, UUID) else v) for k, v in f.__dict__.items()}
                for f in self.findings
            ],
        }


def ledger_providers() -> list[str]:
    """The installed providers that keep books we can read (cash does not)."""
    return [name for name, p in gateway.current().providers.items() if hasattr(p, "ledger")]


async def reconcile(
    since: datetime,
    until: datetime,
    *,
    restaurant_id: UUID | None = None,
    step: Callable[[str], None] | None = None,
) -> Report:
    """Reconcile every provider for the window; ``restaurant_id`` narrows it to one restaurant
    (the provider's movements that are another restaurant's are left out). ``step`` hears
    each stage as it starts (a provider's name, then ``our books``), for a progress display."""
    report = Report(since=since, until=until)
    for name in ledger_providers():
        if step is not None:
            step(name)
        provider = gateway.current().providers[name]
        await _reconcile_provider(name, provider, report, restaurant_id)  # type: ignore[arg-type]
    if step is not None:
        step("our books")
    report.ours_count = await ours_in_window(since, until, restaurant_id)
    await _check_our_books(report, restaurant_id)
    await reconcile_runs.record(report, restaurant_id)
    return report


async def _reconcile_provider(
    name: str, source: LedgerSource, report: Report, restaurant_id: UUID | None
) -> None:
    entries = await gateway.current().call(
        name,
        lambda p: p.ledger(report.since - SLACK, report.until + SLACK),  # type: ignore[attr-defined]
    )
    if restaurant_id is not None:
        entries = await _not_elsewhere(name, entries, restaurant_id)
    in_window = [e for e in entries if report.since <= e.at < report.until]
    report.theirs_count[name] = len(in_window)
    report.theirs_net[name] = sum(e.amount if e.kind == "payment" else -e.amount for e in in_window)
    async with connection() as conn:
        payments = await conn.fetch(
            "SELECT id, provider_reference, state, charged, provider_fee, succeeded_at, settlement"
            " FROM payments WHERE provider = $1 AND ($5::uuid IS NULL OR restaurant_id = $5)"
            " AND (provider_reference = ANY($2::text[])"
            " OR (state = 'succeeded' AND succeeded_at >= $3 AND succeeded_at < $4))",
            name,
            [e.reference for e in entries if e.kind == "payment"],
            report.since,
            report.until,
            restaurant_id,
        )
        refunds = await conn.fetch(
            "SELECT r.id, r.payment_id, r.provider_reference, r.state, r.amount, r.updated_at"
            " FROM refunds r JOIN payments p ON p.id = r.payment_id WHERE p.provider = $1"
            " AND ($5::uuid IS NULL OR p.restaurant_id = $5)"
            " AND (r.provider_reference = ANY($2::text[])"
            " OR (r.state = 'succeeded' AND r.updated_at >= $3 AND r.updated_at < $4))",
            name,
            [e.reference for e in entries if e.kind == "refund"],
            report.since,
            report.until,
            restaurant_id,
        )
    ours_in_window = sum(
        p["charged"]
        for p in payments
        if p["state"] == "succeeded"
        and report.since <= p["succeeded_at"] < report.until
        and _in_their_books(p)
    ) - sum(
        r["amount"]
        for r in refunds
        if r["state"] == "succeeded" and report.since <= r["updated_at"] < report.until
    )
    report.ours_net[name] = ours_in_window
    await _match_payments(name, entries, payments, report)
    _match_refunds(name, entries, refunds, report)


async def _match_payments(
    name: str, entries: list[LedgerEntry], payments: list[Any], report: Report
) -> None:
    by_reference = {p["provider_reference"]: p for p in payments if p["provider_reference"]}
    seen: set[UUID] = set()
    for entry in (e for e in entries if e.kind == "payment"):
        ours = by_reference.get(entry.reference)
        if ours is None:
            if report.since <= entry.at < report.until:
                report.findings.append(
                    Finding(
                        kind="unknown_at_fynlo",
                        detail="the provider took this payment; we have no record of it",
                        provider=name,
                        payment_id=entry.payment_id,
                        reference=entry.reference,
                        theirs=entry.amount,
                    )
                )
            continue
        seen.add(ours["id"])
        if ours["state"] != "succeeded":
            report.findings.append(
                Finding(
                    kind="state_mismatch",
                    detail=f"the provider took the money; ours is {ours['state']}: refund it",
                    provider=name,
                    payment_id=ours["id"],
                    reference=entry.reference,
                    ours=0,
                    theirs=entry.amount,
                )
            )
        elif ours["charged"] != entry.amount:
            report.findings.append(
                Finding(
                    kind="amount_mismatch",
                    detail="charged amounts differ",
                    provider=name,
                    payment_id=ours["id"],
                    reference=entry.reference,
                    ours=ours["charged"],
                    theirs=entry.amount,
                )
            )
        if entry.fee is not None and ours["provider_fee"] is None:
            async with transaction() as conn:
                await conn.execute(
                    "UPDATE payments SET provider_fee = $2 WHERE id = $1 AND provider_fee IS NULL",
                    ours["id"],
                    entry.fee,
                )
            report.fees_recorded += 1
        elif entry.fee is not None and ours["provider_fee"] != entry.fee:
            report.findings.append(
                Finding(
                    kind="fee_mismatch",
                    detail="the fee we recorded differs from the provider's books",
                    provider=name,
                    payment_id=ours["id"],
                    reference=entry.reference,
                    ours=ours["provider_fee"],
                    theirs=entry.fee,
                )
            )
    for ours in payments:
        in_window = ours["succeeded_at"] and report.since <= ours["succeeded_at"] < report.until
        if ours["state"] != "succeeded" or not in_window or ours["id"] in seen:
            continue
        if ours["settlement"] == "reversed":
            report.findings.append(
                Finding(
                    kind="reversed",
                    detail="settled, then sent back to the payer: its order is open again",
                    provider=name,
                    payment_id=ours["id"],
                    reference=ours["provider_reference"],
                    ours=ours["charged"],
                )
            )
        elif not _in_their_books(ours):
            report.findings.append(
                Finding(
                    kind="not_settled",
                    detail=f"executed at the payer's bank, {ours['settlement']} but not in the"
                    " merchant account yet",
                    provider=name,
                    payment_id=ours["id"],
                    reference=ours["provider_reference"],
                    ours=ours["charged"],
                )
            )
        else:
            report.findings.append(
                Finding(
                    kind="missing_at_provider",
                    detail="we recorded this payment as succeeded; the provider has no charge",
                    provider=name,
                    payment_id=ours["id"],
                    reference=ours["provider_reference"],
                    ours=ours["charged"],
                )
            )


def _in_their_books(payment: Any) -> bool:
    """Whether the provider's books list this payment yet: always for a card; for pay by
    bank only once settled in the merchant account (executed money is on its way)."""
    return payment["settlement"] in (None, "settled")


def _match_refunds(
    name: str, entries: list[LedgerEntry], refunds: list[Any], report: Report
) -> None:
    by_reference = {r["provider_reference"]: r for r in refunds if r["provider_reference"]}
    seen: set[UUID] = set()
    for entry in (e for e in entries if e.kind == "refund"):
        ours = by_reference.get(entry.reference)
        if ours is None:
            if report.since <= entry.at < report.until:
                report.findings.append(
                    Finding(
                        kind="unknown_refund",
                        detail="the provider paid out a refund we have no record of",
                        provider=name,
                        payment_id=entry.payment_id,
                        reference=entry.reference,
                        theirs=entry.amount,
                    )
                )
            continue
        seen.add(ours["id"])
        if ours["state"] != "succeeded" or ours["amount"] != entry.amount:
            report.findings.append(
                Finding(
                    kind="refund_mismatch",
                    detail=f"ours is {ours['state']} for {ours['amount']}",
                    provider=name,
                    payment_id=ours["payment_id"],
                    reference=entry.reference,
                    ours=ours["amount"],
                    theirs=entry.amount,
                )
            )
    for ours in refunds:
        in_window = report.since <= ours["updated_at"] < report.until
        if ours["state"] == "succeeded" and in_window and ours["id"] not in seen:
            report.findings.append(
                Finding(
                    kind="refund_missing_at_provider",
                    detail="we recorded this refund as done; the provider has none",
                    provider=name,
                    payment_id=ours["payment_id"],
                    reference=ours["provider_reference"],
                    ours=ours["amount"],
                )
            )


async def _not_elsewhere(
    name: str, entries: list[LedgerEntry], restaurant_id: UUID
) -> list[LedgerEntry]:
    """The entries that are this restaurant's, or nobody's we know."""
    async with connection() as conn:
        owners = await conn.fetch(
            "SELECT provider_reference AS reference, restaurant_id FROM payments"
            " WHERE provider = $1 AND provider_reference = ANY($2::text[])"
            " UNION ALL SELECT r.provider_reference, r.restaurant_id FROM refunds r"
            " JOIN payments p ON p.id = r.payment_id"
            " WHERE p.provider = $1 AND r.provider_reference = ANY($2::text[])",
            name,
            [e.reference for e in entries],
        )
    owner = {row["reference"]: row["restaurant_id"] for row in owners}
    return [e for e in entries if owner.get(e.reference, restaurant_id) == restaurant_id]


async def ours_in_window(
    since: datetime, until: datetime, restaurant_id: UUID | None
) -> dict[str, int]:
    """Our succeeded payments and refunds in the window, counted by provider."""
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT provider, count(*)::int AS n FROM ("
            " SELECT provider FROM payments WHERE state = 'succeeded'"
            " AND succeeded_at >= $1 AND succeeded_at < $2"
            " AND ($3::uuid IS NULL OR restaurant_id = $3)"
            " UNION ALL SELECT p.provider FROM refunds r JOIN payments p ON p.id = r.payment_id"
            " WHERE r.state = 'succeeded' AND r.updated_at >= $1 AND r.updated_at < $2"
            " AND ($3::uuid IS NULL OR p.restaurant_id = $3)) moved GROUP BY provider",
            since,
            until,
            restaurant_id,
        )
    return {row["provider"]: row["n"] for row in rows}


def _disagreement(row: Any) -> Finding:
    """What is wrong with an order whose status and money disagree, and what to do."""
    order, paid, due = row["id"], row["paid"], row["total_due"]
    if row["status"] == "voided":
        kind, detail = "voided_order_holds_money", f"order {order} is voided: refund what it holds"
        paid = row["held"]
    elif paid > due:
        kind, detail = "overpaid_order", f"order {order} took more than its total: refund it"
    elif row["status"] == "paid":
        kind, detail = "underpaid_order", f"order {order} reads paid with less than its total"
    else:
        kind, detail = "unsettled_order", f"order {order} is paid in full but still open"
    return Finding(kind=kind, detail=detail, ours=paid, theirs=due, order_id=order)


def _offline_finding(row: Any) -> Finding | None:
    """What a card taken offline asks of a person, if anything yet."""
    if row["state"] in ("failed", "canceled", "expired"):
        kind, detail = "offline_card_owed", "declined after the customer left; the order is open"
    elif row["capture_hold"] is not None:
        kind, detail = "offline_card_held", "past the offline limits: a manager captures or not"
    elif row["late"]:
        kind, detail = "offline_card_not_forwarded", "not at Stripe a day after it was taken"
    else:
        return None  # on its way: the iPad forwards it when it is back online
    return Finding(
        kind=kind,
        detail=detail,
        provider="stripe",
        payment_id=row["id"],
        reference=row["provider_reference"],
        ours=row["charged"],
    )


async def _check_our_books(report: Report, restaurant_id: UUID | None) -> None:
    async with connection() as conn:
        # Every order whose status disagrees with its money, either way.
        disagreeing = await conn.fetch(
            "WITH money AS (SELECT o.id, o.status, o.total_due,"
            f" coalesce(sum(p.amount) FILTER (WHERE {ledger.COVERS}), 0)::bigint AS paid,"
            " coalesce(sum(p.charged) FILTER (WHERE p.state = 'succeeded'), 0)::bigint"
            " - coalesce((SELECT sum(r.amount) FROM refunds r JOIN payments q"
            " ON q.id = r.payment_id WHERE q.order_id = o.id"
            " AND r.state IN ('pending', 'succeeded')), 0)::bigint AS held"
            " FROM orders o LEFT JOIN payments p ON p.order_id = o.id"
            " WHERE $1::uuid IS NULL OR o.restaurant_id = $1 GROUP BY o.id)"
            " SELECT * FROM money WHERE paid > total_due"
            " OR (status = 'paid' AND paid < total_due)"
            " OR (status = 'voided' AND held > 0)"
            " OR (status IN ('open', 'sent') AND total_due > 0 AND paid >= total_due)",
            restaurant_id,
        )
        stuck = await conn.fetch(
            "SELECT id, provider, state FROM payments"
            " WHERE state IN ('created', 'awaiting_customer', 'authorizing')"
            " AND offline_stored_at IS NULL AND ($2::uuid IS NULL OR restaurant_id = $2)"
            " AND coalesce(expires_at, created_at) < now() - $1::interval",
            STUCK_AFTER,
            restaurant_id,
        )
        pending = await conn.fetch(
            "SELECT r.payment_id, r.amount, p.provider FROM refunds r"
            " JOIN payments p ON p.id = r.payment_id"
            " WHERE r.state = 'pending' AND r.created_at < now() - $1::interval"
            " AND ($2::uuid IS NULL OR p.restaurant_id = $2)",
            REFUND_STUCK_AFTER,
            restaurant_id,
        )
        offline = await conn.fetch(
            "SELECT p.id, p.charged, p.state, p.capture_hold, p.provider_reference,"
            " p.offline_stored_at < now() - $4::interval AS late, o.status AS order_status"
            " FROM payments p JOIN orders o ON o.id = p.order_id"
            " WHERE p.offline_stored_at >= $1 AND p.offline_stored_at < $2"
            " AND ($3::uuid IS NULL OR p.restaurant_id = $3)"
            " AND (p.capture_hold IS NOT NULL"
            "   OR (p.state IN ('failed', 'canceled', 'expired') AND o.status <> 'paid')"
            "   OR (p.state = 'authorizing' AND p.provider_reference IS NULL))",
            report.since,
            report.until,
            restaurant_id,
            offline_cards.FORWARD_WITHIN,
        )
    for row in offline:
        finding = _offline_finding(row)
        if finding is not None:
            report.findings.append(finding)
    for row in disagreeing:
        report.findings.append(_disagreement(row))
    for row in stuck:
        report.findings.append(
            Finding(
                kind="stuck_payment",
                detail=f"still {row['state']} past its expiry; the poller has not settled it",
                provider=row["provider"],
                payment_id=row["id"],
            )
        )
    for row in pending:
        report.findings.append(
            Finding(
                kind="stuck_refund",
                detail="pending for over an hour",
                provider=row["provider"],
                payment_id=row["payment_id"],
                ours=row["amount"],
            )
        )
