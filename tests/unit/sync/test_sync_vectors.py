"""The shared sync vectors: hand-worked clock and conflict cases the Swift client runs too.

Each expected value was worked out by hand (the less obvious ones explain themselves in a
``note``). The server's :mod:`server.sync.clock` and :mod:`server.sync.rules` must reproduce
every case; the clocks of the conflict cases are also re-derived here from the rules in the
file's description, independently of server code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from server.sync.clock import (
    bound_drift,
    compare,
    fold,
    format_hlc,
    increment,
    merge,
    parse_hlc,
    receive,
    tick,
)
from server.sync.rules import Change, EntitySpec, Version, resolve

VECTORS = Path("shared/schema/vectors")


def _load(name: str) -> dict[str, Any]:
    """Walk up from this file to the repository root that holds the shared vectors."""
    for folder in Path(__file__).resolve().parents:
        path = folder / VECTORS / name
        if path.is_file():
            loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            return loaded
    raise FileNotFoundError(f"no {VECTORS / name} above {__file__}")


CLOCKS = _load("clocks.json")
CONFLICTS = _load("conflicts.json")
CASES: list[dict[str, Any]] = CONFLICTS["cases"]
FLIPPED = {"equal": "equal", "before": "after", "after": "before", "concurrent": "concurrent"}


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [case["name"] for case in cases]


def test_files_are_version_1_with_unique_names() -> None:
    assert CLOCKS["version"] == CONFLICTS["version"] == 1
    assert len(CLOCKS["compare"]) >= 15
    assert len(CASES) >= 20
    named = ["compare", "merge", "increment", "fold", "hlc_order", "hlc_drift", "hlc_tick"]
    for cases in [*(CLOCKS[key] for key in [*named, "hlc_receive"]), CASES]:
        assert len(set(_ids(cases))) == len(cases)


def test_conflict_cases_cover_every_outcome_and_reason() -> None:
    outcomes = {case["expected"]["outcome"] for case in CASES}
    assert outcomes == {"applied", "merged", "stale", "duplicate", "rejected"}
    reasons = {case["expected"]["reason"] for case in CASES} - {None}
    assert reasons >= {
        "missing_fields",
        "unknown_state",
        "state_backwards",
        "create_only_field",
        "sticky_field",
        "immutable",
        "delete_not_allowed",
        "bad_clock",
        "bad_hlc",
    }
    rules = {rule for case in CASES for rule in (case["expected"]["rule"] or "").split(",")}
    assert rules - {""} == {"lww", "state_rank", "counter", "sticky", "delete_wins"}


# ---- clocks.json ---------------------------------------------------------------------


@pytest.mark.parametrize("case", CLOCKS["compare"], ids=_ids(CLOCKS["compare"]))
def test_compare(case: dict[str, Any]) -> None:
    assert compare(case["a"], case["b"]) == case["expected"]
    assert compare(case["b"], case["a"]) == FLIPPED[case["expected"]]


@pytest.mark.parametrize("case", CLOCKS["merge"], ids=_ids(CLOCKS["merge"]))
def test_merge(case: dict[str, Any]) -> None:
    assert merge(case["a"], case["b"]) == case["expected"]
    assert merge(case["b"], case["a"]) == case["expected"]


@pytest.mark.parametrize("case", CLOCKS["increment"], ids=_ids(CLOCKS["increment"]))
def test_increment(case: dict[str, Any]) -> None:
    assert increment(case["clock"], case["actor"]) == case["expected"]


@pytest.mark.parametrize("case", CLOCKS["fold"], ids=_ids(CLOCKS["fold"]))
def test_fold(case: dict[str, Any]) -> None:
    assert fold(case["clock"], case["retired"]) == case["expected"]


@pytest.mark.parametrize("case", CLOCKS["hlc_order"], ids=_ids(CLOCKS["hlc_order"]))
def test_hlc_order(case: dict[str, Any]) -> None:
    a, b = parse_hlc(case["a"]), parse_hlc(case["b"])
    by_reading = "before" if a < b else "after" if a > b else "equal"
    a_text, b_text = case["a"], case["b"]
    by_text = "before" if a_text < b_text else "after" if a_text > b_text else "equal"
    assert by_reading == by_text == case["expected"]
    assert format_hlc(a) == case["a"]


@pytest.mark.parametrize("text", CLOCKS["hlc_invalid"])
def test_hlc_invalid(text: str) -> None:
    with pytest.raises(ValueError, match="not an HLC"):
        parse_hlc(text)


@pytest.mark.parametrize("case", CLOCKS["hlc_drift"], ids=_ids(CLOCKS["hlc_drift"]))
def test_hlc_drift(case: dict[str, Any]) -> None:
    bounded, clamped = bound_drift(
        parse_hlc(case["hlc"]), now_ms=case["now_ms"], max_drift_ms=case["max_drift_ms"]
    )
    assert (format_hlc(bounded), clamped) == (case["expected"], case["clamped"])


@pytest.mark.parametrize("case", CLOCKS["hlc_tick"], ids=_ids(CLOCKS["hlc_tick"]))
def test_hlc_tick(case: dict[str, Any]) -> None:
    local = parse_hlc(case["local"]) if case["local"] is not None else None
    assert format_hlc(tick(local, now_ms=case["now_ms"], node=case["node"])) == case["expected"]


@pytest.mark.parametrize("case", CLOCKS["hlc_receive"], ids=_ids(CLOCKS["hlc_receive"]))
def test_hlc_receive(case: dict[str, Any]) -> None:
    local = parse_hlc(case["local"]) if case["local"] is not None else None
    received = receive(local, parse_hlc(case["remote"]), now_ms=case["now_ms"], node=case["node"])
    assert format_hlc(received) == case["expected"]


# ---- conflicts.json ------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_resolve_reproduces_the_vector(case: dict[str, Any]) -> None:
    spec = msgspec.convert(case["spec"], EntitySpec)
    current = msgspec.convert(case["current"], Version | None)
    change = msgspec.convert(case["change"], Change)
    expected = case["expected"]

    decision = resolve(spec, current, change)

    assert (decision.outcome, decision.rule, decision.reason) == (
        expected["outcome"],
        expected["rule"],
        expected["reason"],
    )
    version = msgspec.to_builtins(decision.version)
    if version is None:
        assert [expected[key] for key in ("data", "clock", "field_hlcs", "deleted")] == [None] * 4
    else:
        assert version == {key: expected[key] for key in ("data", "clock", "field_hlcs", "deleted")}
    for word in expected.get("detail_mentions", []):
        assert decision.detail is not None and word in decision.detail
    assert decision.clock_oversized is False


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_vector_clocks_follow_the_described_rules(case: dict[str, Any]) -> None:
    """Re-derive each expected clock from the description, with no server code."""
    current, change, expected = case["current"], case["change"], case["expected"]
    if expected["outcome"] == "rejected":
        assert expected["clock"] == (current["clock"] if current else None)
        return
    if current is None:
        assert expected["clock"] == change["clock"]
        return
    actors = current["clock"].keys() | change["clock"].keys()
    pointwise = {a: max(current["clock"].get(a, 0), change["clock"].get(a, 0)) for a in actors}
    pointwise = {actor: count for actor, count in pointwise.items() if count}
    if expected["outcome"] in {"duplicate", "stale"}:
        assert expected["clock"] == current["clock"]
    elif expected["outcome"] == "applied":
        assert expected["clock"] == pointwise
    else:
        assert expected["clock"] == {**pointwise, "server": pointwise.get("server", 0) + 1}
