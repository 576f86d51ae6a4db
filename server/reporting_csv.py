"""A report as CSV, with the same figures as its JSON (RFC 4180, one table).

Each row starts with ``breakdown``, naming the JSON list it comes from (``day``,
``employee``, ``product`` ...); the other columns are the JSON members of that name, blank
where a row has none. Two kinds of column differ from JSON in how they are written, never in
value: amounts are plain decimal units of the currency (``1234`` minor units → ``12.34``)
under a header naming it (``net_sales_gbp``), and basis points are a percentage
(``labour_bp`` 2345 → ``labour_percent`` ``23.45``; ``rate_bp`` 2000 → ``rate_percent``
``20.00``). The time clock's reports and the sales reports (``server.reports``) share it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import msgspec

Kind = Literal["text", "money", "basis_points"]

# Spreadsheets run a cell that starts with these as a formula (OWASP, "CSV Injection"):
# such text is written after an apostrophe. https://owasp.org/www-community/attacks/CSV_Injection
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    member: str
    """The JSON member it holds."""
    kind: Kind = "text"

    def header(self, currency: str) -> str:
        if self.kind == "money":
            return f"{self.member}_{currency.strip().lower()}"
        if self.kind == "basis_points":
            return f"{self.member.removesuffix('_bp')}_percent"
        return self.member


Section = tuple[str, Sequence[msgspec.Struct]]
"""A ``breakdown`` name and its rows."""


def render(sections: Sequence[Section], columns: Sequence[Column], *, currency: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["breakdown", *(column.header(currency) for column in columns)])
    for breakdown, rows in sections:
        for row in rows:
            writer.writerow([breakdown, *(_cell(row, column) for column in columns)])
    return out.getvalue()


def hundredths(value: int) -> str:
    """``1234`` → ``"12.34"``, ``-5`` → ``"-0.05"``: integer arithmetic, never a float."""
    whole, part = divmod(abs(value), 100)
    return f"{'-' if value < 0 else ''}{whole}.{part:02d}"


def _cell(row: msgspec.Struct, column: Column) -> str:
    value = getattr(row, column.member, None)
    if value is None:
        return ""
    if column.kind != "text":
        return hundredths(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return f"'{text}" if isinstance(value, str) and text.startswith(_FORMULA_STARTS) else text
