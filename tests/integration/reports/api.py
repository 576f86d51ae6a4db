"""Helpers for the reports tests: rows of a day written as the ledger leaves them, the
routes, the clock, and reading a report's CSV back as its JSON."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import httpx

from server.db.engine import DB
from server.reports import routes


@contextmanager
def clock_at(now: datetime) -> Iterator[None]:
    """The reports' clock at ``now`` for the block (the day's end has come)."""
    real = routes.CLOCK.now
    routes.CLOCK.now = lambda: now  # type: ignore[method-assign]
    try:
        yield
    finally:
        routes.CLOCK.now = real  # type: ignore[method-assign]


async def sql(query: str, *args: Any) -> Any:
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        return await conn.fetchval(query, *args)


async def close_day(
    client: httpx.AsyncClient, headers: dict[str, str], location_id: UUID, day: date
) -> httpx.Response:
    return await client.post(
        "/api/v1/reports/z",
        json={"location_id": str(location_id), "business_day": day.isoformat()},
        headers=headers,
    )


async def x_report(
    client: httpx.AsyncClient, headers: dict[str, str], location_id: UUID, day: date
) -> dict[str, Any]:
    response = await client.get(
        "/api/v1/reports/x",
        params={"location_id": str(location_id), "day": day.isoformat()},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def report(
    client: httpx.AsyncClient, headers: dict[str, str], kind: str, **params: Any
) -> httpx.Response:
    return await client.get(
        f"/api/v1/reports/{kind}",
        params={key: str(value) for key, value in params.items()},
        headers=headers,
    )


# --- reading a CSV back ---------------------------------------------------------------------


def csv_rows(text: str, currency: str = "GBP") -> list[tuple[str, dict[str, Any]]]:
    """Each row's ``breakdown`` and its cells read back to JSON members: ``*_gbp`` pounds
    to minor units, ``*_percent`` to basis points, whole numbers to ints, blank dropped."""
    rows = []
    for row in csv.DictReader(io.StringIO(text, newline="")):
        breakdown = row.pop("breakdown")
        rows.append((breakdown, dict(_member(h, c, currency) for h, c in row.items() if c != "")))
    return rows


def _member(header: str, cell: str, currency: str) -> tuple[str, Any]:
    money = f"_{currency.lower()}"
    if header.endswith(money):
        return header.removesuffix(money), _hundredths(cell)
    if header.endswith("_percent"):
        return f"{header.removesuffix('_percent')}_bp", _hundredths(cell)
    if cell.lstrip("-").isdigit() and header not in ("name", "key", "number", "box"):
        return header, int(cell)
    return header, cell


def _hundredths(cell: str) -> int:
    hundredths = Decimal(cell) * 100
    assert hundredths == hundredths.to_integral_value(), cell
    return int(hundredths)
