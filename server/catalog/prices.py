"""Prices from the catalog (issue 13): a line's price is the menu's price in force when the
line was taken, not whatever the device sends.

``catalog_prices`` keeps every price a product (with its VAT rate) or a modifier (its
``price_delta``) has had and since when: :func:`record_price` adds a row when the back
office publishes a new price (``catalog/sync.py``, in the publishing transaction), and
:func:`catalog_prices` checks a batch of pushed prices against that history in one query.

A row is in force from its ``valid_from`` until the next row's; the first row also counts
for any earlier instant (items that existed before the history began were given their price
of the day as their first row, valid from their creation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

import asyncpg

# An iPad prices lines from the menu it last pulled, and may trade offline for a whole
# service on it: a menu up to a day old is still honest, so a price the item had at any
# moment in the day before the line was taken is accepted. Older prices are corrected.
MENU_STALENESS = timedelta(hours=24)

Kind = Literal["product", "modifier"]
KINDS: frozenset[str] = frozenset({"product", "modifier"})


@dataclass(frozen=True)
class PriceCheck:
    """One price a device sent: a line's ``unit_price`` (kind ``product``) or one of its
    modifiers' ``price_delta`` (kind ``modifier``), taken at ``at`` (timezone-aware).

    ``vat_rate_bp``, when given (products only), must have been in force together with
    ``price`` for the pair to be accepted.
    """

    item_id: UUID
    at: datetime
    price: int
    kind: Kind
    vat_rate_bp: int | None = None


@dataclass(frozen=True)
class Verdict:
    """``known``: the item has price history in this restaurant (another restaurant's item
    answers like a missing one). ``accepted``: the price (and VAT rate, if checked) was in
    force at some moment in ``[at - MENU_STALENESS, at]``. ``in_force`` and ``vat_rate_bp``:
    the price and VAT rate in force at ``at`` (the first ones if ``at`` precedes the
    history; ``vat_rate_bp`` is None for modifiers), None when unknown."""

    known: bool
    accepted: bool
    in_force: int | None
    vat_rate_bp: int | None


UNKNOWN = Verdict(known=False, accepted=False, in_force=None, vat_rate_bp=None)

_RECORD = """
INSERT INTO catalog_prices (restaurant_id, kind, item_id, price, vat_rate_bp, valid_from)
SELECT $1, $2::text, $3, $4::integer, $5::integer, clock_timestamp()
WHERE NOT EXISTS (
    SELECT 1 FROM (SELECT price, vat_rate_bp FROM catalog_prices
                   WHERE restaurant_id = $1 AND kind = $2::text AND item_id = $3
                   ORDER BY valid_from DESC LIMIT 1) AS latest
    WHERE latest.price = $4::integer AND latest.vat_rate_bp IS NOT DISTINCT FROM $5::integer)
ON CONFLICT (restaurant_id, kind, item_id, valid_from)
DO UPDATE SET price = excluded.price, vat_rate_bp = excluded.vat_rate_bp
"""

# Per check: the item's history with each row's end (the next row's start); the rows whose
# effective start is not after ``at`` (the first row's is minus infinity); of those, the one
# not yet ended at ``at`` is in force, and any not ended before the window opens is
# acceptable.
_CHECK = """
SELECT c.idx, v.known, v.accepted, v.in_force, v.vat_rate_bp
FROM unnest($2::text[], $3::uuid[], $4::timestamptz[], $5::integer[], $6::integer[])
     WITH ORDINALITY AS c (kind, item_id, at, price, vat_rate_bp, idx)
CROSS JOIN LATERAL (
    SELECT count(*) > 0 AS known,
           coalesce(bool_or(h.price = c.price
                            AND (c.vat_rate_bp IS NULL OR h.vat_rate_bp = c.vat_rate_bp)
                            AND (h.until IS NULL OR h.until > c.at - $7::interval)),
                    false) AS accepted,
           max(h.price) FILTER (WHERE h.until IS NULL OR h.until > c.at) AS in_force,
           max(h.vat_rate_bp) FILTER (WHERE h.until IS NULL OR h.until > c.at) AS vat_rate_bp
    FROM (
        SELECT p.price, p.vat_rate_bp, p.valid_from,
               lead(p.valid_from) OVER (ORDER BY p.valid_from) AS until,
               row_number() OVER (ORDER BY p.valid_from) AS n
        FROM catalog_prices AS p
        WHERE p.restaurant_id = $1 AND p.kind = c.kind AND p.item_id = c.item_id
    ) AS h
    WHERE h.n = 1 OR h.valid_from <= c.at
) AS v
"""


async def record_price(
    conn: asyncpg.Connection,
    restaurant_id: UUID,
    kind: Kind,
    item_id: UUID,
    price: int,
    vat_rate_bp: int | None,
) -> None:
    """Add a history row if this price (and VAT rate) differs from the item's latest.

    Call it in the transaction that publishes the item, after the store has taken the
    entity's lock, so two publishes of one item are ordered and ``clock_timestamp()``
    (not the transaction's start, which a waiting writer would carry) orders their rows.
    """
    _check_kind(kind)
    await conn.execute(_RECORD, restaurant_id, kind, item_id, price, vat_rate_bp)


async def catalog_prices(
    conn: asyncpg.Connection, restaurant_id: UUID, checks: Sequence[PriceCheck]
) -> dict[PriceCheck, Verdict]:
    """A verdict for every check, in one query however many there are.

    Keyed by the check itself: two lines of one item taken at the same instant may claim
    different prices, and each gets its own verdict.
    """
    if not checks:
        return {}
    for check in checks:
        _check_kind(check.kind)
        if check.at.tzinfo is None or check.at.utcoffset() is None:
            raise ValueError("PriceCheck.at must be timezone-aware")
    rows = await conn.fetch(
        _CHECK,
        restaurant_id,
        [check.kind for check in checks],
        [check.item_id for check in checks],
        [check.at for check in checks],
        [check.price for check in checks],
        [check.vat_rate_bp for check in checks],
        MENU_STALENESS,
    )
    verdicts: dict[PriceCheck, Verdict] = {}
    for row in rows:
        check = checks[row["idx"] - 1]
        verdicts[check] = (
            Verdict(
                known=True,
                accepted=row["accepted"],
                in_force=row["in_force"],
                vat_rate_bp=row["vat_rate_bp"],
            )
            if row["known"]
            else UNKNOWN
        )
    return verdicts


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown price kind {kind!r}")
