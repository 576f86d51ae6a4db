"""What ``fynlo reconcile`` prints: one set of figures, as text, JSON or CSV.

JSON amounts are minor units (pence), as in the API; CSV writes them as decimal pounds under
a header naming the currency (``ours_net_gbp``), the way every Fynlo CSV does
(``server/reporting_csv.py``); text shows money as ``£12.34``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal
from uuid import UUID

import click
import msgspec

from server.money import format_money
from server.payments.reconcile import Report
from server.reporting_csv import Column, Section, render

Outcome = Literal["balanced", "differences", "nothing_compared"]


class ProviderFigures(msgspec.Struct, kw_only=True):
    provider: str
    ours_count: int
    """Our succeeded payments and refunds in the window."""
    theirs_count: int | None
    """Movements in the provider's books in the window; null for cash (no books)."""
    ours_net: int | None
    theirs_net: int | None
    difference: int | None


class FindingRow(msgspec.Struct, kw_only=True):
    kind: str
    detail: str
    provider: str | None
    payment_id: UUID | None
    order_id: UUID | None
    reference: str | None
    ours: int | None
    theirs: int | None


class ReconcileOutput(msgspec.Struct, kw_only=True):
    outcome: Outcome
    balanced: bool
    since: str
    until: str
    restaurant_id: UUID | None
    currency: str
    compared: int
    """Payments and refunds looked at, ours and the providers' together."""
    fees_recorded: int
    providers_from: str
    providers: list[ProviderFigures]
    findings: list[FindingRow]


def outcome_of(report: Report) -> Outcome:
    if not report.balanced:
        return "differences"
    return "nothing_compared" if report.compared_nothing else "balanced"


def build(
    report: Report, *, currency: str, restaurant_id: UUID | None, source: str
) -> ReconcileOutput:
    names = sorted(set(report.ours_net) | set(report.theirs_net) | set(report.ours_count))
    providers = []
    for name in names:
        books = name in report.theirs_net
        ours, theirs = report.ours_net.get(name, 0), report.theirs_net.get(name, 0)
        providers.append(
            ProviderFigures(
                provider=name,
                ours_count=report.ours_count.get(name, 0),
                theirs_count=report.theirs_count.get(name, 0) if books else None,
                ours_net=ours if books else None,
                theirs_net=theirs if books else None,
                difference=ours - theirs if books else None,
            )
        )
    outcome = outcome_of(report)
    return ReconcileOutput(
        outcome=outcome,
        balanced=outcome == "balanced",
        since=report.since.isoformat(),
        until=report.until.isoformat(),
        restaurant_id=restaurant_id,
        currency=currency,
        compared=sum(report.ours_count.values()) + sum(report.theirs_count.values()),
        fees_recorded=report.fees_recorded,
        providers_from=source,
        providers=providers,
        findings=[
            FindingRow(
                kind=f.kind,
                detail=f.detail,
                provider=f.provider,
                payment_id=f.payment_id,
                order_id=f.order_id,
                reference=f.reference,
                ours=f.ours,
                theirs=f.theirs,
            )
            for f in report.findings
        ],
    )


def as_json(output: ReconcileOutput) -> str:
    return msgspec.json.format(msgspec.json.encode(output), indent=2).decode()


_CSV_COLUMNS = [
    Column("outcome"),
    Column("since"),
    Column("until"),
    Column("restaurant_id"),
    Column("compared"),
    Column("fees_recorded"),
    Column("provider"),
    Column("ours_count"),
    Column("theirs_count"),
    Column("ours_net", "money"),
    Column("theirs_net", "money"),
    Column("difference", "money"),
    Column("kind"),
    Column("detail"),
    Column("payment_id"),
    Column("order_id"),
    Column("reference"),
    Column("ours", "money"),
    Column("theirs", "money"),
]


def as_csv(output: ReconcileOutput) -> str:
    """One table: a ``summary`` row, a ``provider`` row each, a ``finding`` row each."""
    sections: list[Section] = [
        ("summary", [output]),
        ("provider", output.providers),
        ("finding", output.findings),
    ]
    return render(sections, _CSV_COLUMNS, currency=output.currency)


def as_text(output: ReconcileOutput) -> str:
    money = _money(output.currency)
    scope = f"restaurant {output.restaurant_id}" if output.restaurant_id else "every restaurant"
    lines = [
        f"Reconciliation {output.since} to {output.until} ({scope})",
        f"  providers: {output.providers_from}",
    ]
    width = max((len(p.provider) for p in output.providers), default=0)
    for p in output.providers:
        if p.theirs_count is None:
            lines.append(
                f"  {p.provider:<{width}}  ours {p.ours_count}, checked against their orders"
                " (no provider books)"
            )
        else:
            lines.append(
                f"  {p.provider:<{width}}  ours {p.ours_count} ({money(p.ours_net)}),"
                f" provider {p.theirs_count} ({money(p.theirs_net)}),"
                f" difference {money(p.difference)}"
            )
    if output.fees_recorded:
        lines.append(f"  provider fees recorded from the provider's books: {output.fees_recorded}")
    for f in output.findings:
        where = " ".join(
            f"{name}={value}"
            for name, value in (
                ("provider", f.provider),
                ("payment", f.payment_id),
                ("order", f.order_id),
                ("reference", f.reference),
                ("ours", money(f.ours) if f.ours is not None else None),
                ("theirs", money(f.theirs) if f.theirs is not None else None),
            )
            if value is not None
        )
        lines.append(f"  ! {f.kind}: {f.detail} ({where})")
    lines.append(verdict(output))
    return "\n".join(lines)


def verdict(output: ReconcileOutput) -> str:
    """The last line; styled, which ``click.echo`` drops when stdout is not a terminal."""
    if output.outcome == "balanced":
        text = f"BALANCED: {output.compared} payments and refunds compared, no differences"
        return click.style(text, fg="green", bold=True)
    if output.outcome == "differences":
        text = (
            f"NOT BALANCED: {len(output.findings)} findings; each kind and what to do:"
            " docs/operations.md, Reconcile"
        )
        if not output.findings:
            text = "NOT BALANCED: a provider's total differs from ours (see above)"
        return click.style(text, fg="red", bold=True)
    text = (
        f"NOTHING TO COMPARE: no payments between {output.since} and {output.until}"
        " and no provider reported any; nothing was checked (try --since today, or"
        " another --since/--until)"
    )
    return click.style(text, fg="yellow", bold=True)


def _money(currency: str) -> Callable[[int | None], str]:
    def money(amount: int | None) -> str:
        return "-" if amount is None else format_money(amount, currency)

    return money
