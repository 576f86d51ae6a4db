"""The shared pricing vectors: hand-worked examples the Swift client runs too.

Each case's expected values were worked out by hand (the arithmetic is in its ``note``).
Two checks keep them honest: the expected numbers must agree with the pricing rules
recomputed here from scratch with exact fractions, independently of server code, and
:mod:`server.orders.pricing` must reproduce them exactly.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from fractions import Fraction
from pathlib import Path
from typing import Any

import msgspec
import pytest

from server.orders.pricing import (
    Discount,
    OrderTotals,
    PricingLine,
    SplitPart,
    price_order,
    split_by_items,
    split_equally,
)

VECTORS_PATH = Path("shared/schema/vectors/pricing.json")


def _find_vectors() -> Path:
    """Walk up from this file to the repository root that holds the shared vectors."""
    for folder in Path(__file__).resolve().parents:
        if (folder / VECTORS_PATH).is_file():
            return folder / VECTORS_PATH
    raise FileNotFoundError(f"no {VECTORS_PATH} above {__file__}")


VECTORS: dict[str, Any] = json.loads(_find_vectors().read_text(encoding="utf-8"))
CASES: list[dict[str, Any]] = VECTORS["cases"]


def _half_up(exact: Fraction) -> int:
    """Round a non-negative exact amount to the nearest penny, halves up."""
    return math.floor(exact + Fraction(1, 2))


def test_vectors_file_is_version_1_with_enough_cases() -> None:
    """The file announces its version, and covers at least the dozen required cases."""
    assert VECTORS["version"] == 1
    assert len(CASES) >= 12
    names = [case["name"] for case in CASES]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_price_order_reproduces_the_vector(case: dict[str, Any]) -> None:
    """The server prices and splits each case exactly as the vector says."""
    totals, parts = _run(case["input"])
    expected = dict(case["expected"])
    expected_parts = expected.pop("split_parts")
    assert _as_json(totals) == expected
    assert _as_json(parts) == expected_parts


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_vector_agrees_with_the_rules_worked_independently(case: dict[str, Any]) -> None:
    """Re-derive every expected number from the input with exact fractions, not server code."""
    given, expected = case["input"], case["expected"]
    _check_lines(given, expected)
    _check_order_totals(given, expected)
    _check_split(given, expected)


def _discount_off(discount: dict[str, Any] | None, base: int) -> int:
    """Work out a discount's pence from its JSON form, as the description says."""
    if discount is None:
        return 0
    if discount["kind"] == "percent":
        return _half_up(Fraction(base * discount["value"], 10_000))
    fixed: int = discount["value"]
    return min(fixed, base)


def _check_lines(given: dict[str, Any], expected: dict[str, Any]) -> None:
    """Check each line's unit price, gross, discounts and total, and the order discount."""
    lines = expected["lines"]
    assert [line["line_id"] for line in lines] == [line["line_id"] for line in given["lines"]]
    for line, entered in zip(lines, given["lines"], strict=True):
        unit = entered["unit_price"] + sum(entered.get("modifier_deltas", []))
        assert line["unit_price"] == unit >= 0
        voided = entered.get("voided", False)
        assert line["voided"] == voided
        assert line["gross"] == (0 if voided else unit * entered["quantity"])
        assert line["line_discount"] == (
            0 if voided else _discount_off(entered.get("discount"), line["gross"])
        )
        assert line["total"] == line["gross"] - line["line_discount"] - line["order_discount"]
        assert line["total"] >= 0

    after_line_discounts = [line["gross"] - line["line_discount"] for line in lines]
    base = sum(after_line_discounts)
    order_discount = sum(line["order_discount"] for line in lines)
    assert order_discount == _discount_off(given["order_discount"], base)
    for line, weight in zip(lines, after_line_discounts, strict=True):
        # Largest remainder keeps every share within a penny of its exact proportion.
        exact = Fraction(order_discount * weight, base) if base else Fraction(0)
        assert math.floor(exact) <= line["order_discount"] <= math.ceil(exact)


def _check_order_totals(given: dict[str, Any], expected: dict[str, Any]) -> None:
    """Check subtotal, discounts, VAT buckets, service charge, tip and total due."""
    lines = expected["lines"]
    assert expected["subtotal"] == sum(line["gross"] for line in lines)
    assert expected["discount_total"] == sum(
        line["line_discount"] + line["order_discount"] for line in lines
    )
    assert expected["total_after_discounts"] == sum(line["total"] for line in lines)

    gross_by_rate: dict[int, int] = defaultdict(int)
    for line in lines:
        if not line["voided"]:
            gross_by_rate[line["vat_rate_bp"]] += line["total"]
    assert [bucket["rate_bp"] for bucket in expected["vat"]] == sorted(gross_by_rate)
    for bucket in expected["vat"]:
        rate = bucket["rate_bp"]
        assert bucket["gross"] == gross_by_rate[rate]
        assert bucket["vat"] == _half_up(Fraction(bucket["gross"] * rate, 10_000 + rate))
        assert bucket["net"] == bucket["gross"] - bucket["vat"]
    assert expected["vat_total"] == sum(bucket["vat"] for bucket in expected["vat"])

    assert expected["service_charge"] == _half_up(
        Fraction(expected["total_after_discounts"] * given["service_charge_bp"], 10_000)
    )
    assert expected["tip"] == given["tip"]
    assert expected["total_due"] == (
        expected["total_after_discounts"] + expected["service_charge"] + expected["tip"]
    )


def _check_split(given: dict[str, Any], expected: dict[str, Any]) -> None:
    """Check that split parts add up to the order, component by component."""
    parts = expected["split_parts"]
    split = given["split"]
    if split is None:
        assert parts is None
        return
    for component, whole in [
        ("goods", expected["total_after_discounts"]),
        ("service_charge", expected["service_charge"]),
        ("tip", expected["tip"]),
        ("total", expected["total_due"]),
    ]:
        assert sum(part[component] for part in parts) == whole
    for part in parts:
        assert part["total"] == part["goods"] + part["service_charge"] + part["tip"]
    if split["kind"] == "equal":
        assert len(parts) == split["parts"]
        assert all(part["line_ids"] == [] for part in parts)
        assert max(p["total"] for p in parts) - min(p["total"] for p in parts) <= 1
        return
    total_by_id = {line["line_id"]: line["total"] for line in expected["lines"]}
    for part, group in zip(parts, split["groups"], strict=True):
        assert part["line_ids"] == group
        assert part["goods"] == sum(total_by_id[line_id] for line_id in group)


def test_hand_worked_examples_match_the_notes() -> None:
    """Spot-check a few vectors against arithmetic done by hand, written out here."""
    by_name = {case["name"]: case["expected"] for case in CASES}
    # 3 x 795 = 2385 at 20%: 2385 / 6 = 397.5p exactly, which rounds up to 398p.
    assert by_name["vat_exactly_half_penny_rounds_up_once_per_bucket"]["vat_total"] == 398
    # 10% off 3768 = 376.8 -> 377, shared 150 / 47 / 180 by largest remainder.
    shares = [
        line["order_discount"] for line in by_name["percent_order_discount_across_buckets"]["lines"]
    ]
    assert shares == [150, 47, 180]
    # 4495 + 562 + 500 = 5557 in thirds: 1853, 1852, 1852.
    thirds = by_name["split_equally_three_ways_with_remainder_pence"]["split_parts"]
    assert [part["total"] for part in thirds] == [1853, 1852, 1852]
    # 2595 * 12.5% = 324.375 -> 324.
    assert by_name["service_charge_12_5_percent_outside_vat"]["service_charge"] == 324


def _as_json(value: object) -> Any:
    """Encode a value as the server would send it, and read it back as plain values."""
    return json.loads(msgspec.json.encode(value))


def _run(given: dict[str, Any]) -> tuple[OrderTotals, tuple[SplitPart, ...] | None]:
    """Price (and, if asked, split) one vector's input with the server's pricing module."""
    totals = price_order(
        msgspec.convert(given["lines"], type=list[PricingLine]),
        order_discount=msgspec.convert(given["order_discount"], type=Discount | None),
        service_charge_bp=given["service_charge_bp"],
        tip=given["tip"],
    )
    split = given["split"]
    if split is None:
        return totals, None
    if split["kind"] == "equal":
        return totals, split_equally(totals, split["parts"])
    return totals, split_by_items(totals, split["groups"])
