"""Vector clocks and hybrid logical clocks: worked examples and properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.sync.clock import (
    CLOCK_SIZE_ALERT,
    MAX_CLOCK_ENTRIES,
    MAX_COUNTER,
    Hlc,
    Ordering,
    bound_drift,
    check_clock,
    compare,
    fold,
    format_hlc,
    increment,
    is_oversized,
    merge,
    parse_hlc,
    receive,
    tick,
)

# No example database (nothing written into the repo); print_blob makes any failure replay.
PROPERTY = settings(max_examples=200, print_blob=True, database=None, deadline=None)

FLIPPED = {
    Ordering.EQUAL: Ordering.EQUAL,
    Ordering.BEFORE: Ordering.AFTER,
    Ordering.AFTER: Ordering.BEFORE,
    Ordering.CONCURRENT: Ordering.CONCURRENT,
}

# Few actors and small counters, so equal, dominated and concurrent pairs all turn up.
clocks = st.dictionaries(
    st.sampled_from(["server", "ipad-1", "ipad-2", "ipad-3"]),
    st.integers(min_value=0, max_value=3),
)
nodes = st.sampled_from(["ipad-1", "ipad-2", "ipad-10", "server", "A:b"])
hlcs = st.builds(
    Hlc,
    wall_ms=st.integers(min_value=0, max_value=10**13 - 1),
    counter=st.integers(min_value=0, max_value=99_999),
    node=nodes,
)
# Readings close together, so the receive rule's equal-wall branches are exercised.
NOW = 1_767_225_600_000
near_walls = st.integers(min_value=NOW - 3, max_value=NOW + 3)
near_hlcs = st.builds(Hlc, wall_ms=near_walls, counter=st.integers(0, 5), node=nodes)


def _normal(clock: dict[str, int]) -> dict[str, int]:
    return {actor: count for actor, count in clock.items() if count > 0}


class TestCompare:
    @pytest.mark.parametrize(
        ("a", "b", "expected"),
        [
            ({}, {}, Ordering.EQUAL),
            ({"ipad-1": 2}, {"ipad-1": 2}, Ordering.EQUAL),
            ({"ipad-1": 1}, {"ipad-1": 2}, Ordering.BEFORE),
            ({"ipad-1": 3}, {"ipad-1": 2}, Ordering.AFTER),
            ({"ipad-1": 1}, {"ipad-1": 1, "ipad-2": 1}, Ordering.BEFORE),
            ({"ipad-1": 1}, {"ipad-2": 1}, Ordering.CONCURRENT),
            ({"ipad-1": 1, "ipad-2": 0}, {"ipad-1": 1}, Ordering.EQUAL),
            ({"ipad-1": 0}, {}, Ordering.EQUAL),
            ({"ipad-1": 2, "server": 1}, {"ipad-1": 3}, Ordering.CONCURRENT),
        ],
    )
    def test_examples(self, a: dict[str, int], b: dict[str, int], expected: Ordering) -> None:
        assert compare(a, b) is expected

    def test_ordering_is_a_string(self) -> None:
        """The wire and the vectors spell orderings as plain lowercase words."""
        assert [str(member) for member in Ordering] == ["equal", "before", "after", "concurrent"]

    @PROPERTY
    @given(clocks, clocks)
    def test_antisymmetric(self, a: dict[str, int], b: dict[str, int]) -> None:
        """Swapping the sides flips the answer, and equal means the same non-zero entries."""
        assert compare(b, a) is FLIPPED[compare(a, b)]
        assert (compare(a, b) is Ordering.EQUAL) == (_normal(a) == _normal(b))


class TestMerge:
    def test_pointwise_max_without_zero_entries(self) -> None:
        assert merge({"a": 3, "b": 1, "z": 0}, {"a": 1, "b": 4, "c": 2}) == {
            "a": 3,
            "b": 4,
            "c": 2,
        }

    @PROPERTY
    @given(clocks, clocks, clocks)
    def test_commutative_associative_idempotent(
        self, a: dict[str, int], b: dict[str, int], c: dict[str, int]
    ) -> None:
        assert merge(a, b) == merge(b, a)
        assert merge(merge(a, b), c) == merge(a, merge(b, c))
        assert merge(a, a) == _normal(a)

    @PROPERTY
    @given(clocks, clocks, st.sampled_from(["server", "ipad-1", "ipad-9"]))
    def test_dominates_or_equals_both(
        self, a: dict[str, int], b: dict[str, int], actor: str
    ) -> None:
        """The merge has seen both sides; one more event makes it strictly later than both."""
        merged = merge(a, b)
        assert compare(merged, a) in {Ordering.AFTER, Ordering.EQUAL}
        assert compare(merged, b) in {Ordering.AFTER, Ordering.EQUAL}
        # And it is the least such clock: one less anywhere and it misses something.
        for name, count in merged.items():
            smaller = {**merged, name: count - 1}
            seen_both = {compare(smaller, a), compare(smaller, b)} <= {
                Ordering.AFTER,
                Ordering.EQUAL,
            }
            assert not seen_both
        assert compare(increment(merged, actor), a) is Ordering.AFTER
        assert compare(increment(merged, actor), b) is Ordering.AFTER


def test_increment_counts_one_event_and_leaves_the_input_alone() -> None:
    clock = {"ipad-1": 2}
    assert increment(clock, "ipad-1") == {"ipad-1": 3}
    assert increment(clock, "server") == {"ipad-1": 2, "server": 1}
    assert clock == {"ipad-1": 2}


def test_fold_drops_retired_devices_only() -> None:
    clock = {"ipad-1": 4, "ipad-2": 7, "server": 3}
    assert fold(clock, {"ipad-2", "ipad-9"}) == {"ipad-1": 4, "server": 3}
    assert fold(clock, []) == clock


def test_oversized_above_the_alert_size_counting_non_zero_entries() -> None:
    at_cap = {f"ipad-{n}": 1 for n in range(CLOCK_SIZE_ALERT)}
    assert CLOCK_SIZE_ALERT == 32
    assert not is_oversized(at_cap)
    assert not is_oversized({**at_cap, "retired": 0})
    assert is_oversized({**at_cap, "server": 1})


class TestCheckClock:
    def test_accepts_and_copies_a_valid_clock(self) -> None:
        given_clock = {"ipad-1": 0, "server": MAX_COUNTER}
        checked = check_clock(given_clock)
        assert checked == given_clock
        assert checked is not given_clock

    def test_accepts_the_maximum_number_of_entries(self) -> None:
        assert len(check_clock({f"d{n}": 1 for n in range(MAX_CLOCK_ENTRIES)})) == 256

    @pytest.mark.parametrize(
        "value",
        [
            {"ipad-1": -1},
            {"ipad-1": 1.0},
            {"ipad-1": True},
            {"ipad-1": "1"},
            {"ipad-1": None},
            {"": 1},
            {1: 1},
            {"ipad-1": MAX_COUNTER + 1},
            {f"d{n}": 1 for n in range(MAX_CLOCK_ENTRIES + 1)},
            [("ipad-1", 1)],
            None,
        ],
        ids=[
            "negative",
            "float",
            "bool",
            "string",
            "null",
            "empty_actor",
            "int_actor",
            "too_big",
            "too_many_entries",
            "list",
            "none",
        ],
    )
    def test_refuses(self, value: object) -> None:
        with pytest.raises(ValueError, match=r"."):
            check_clock(value)


class TestHlcText:
    def test_fixed_width_round_trip(self) -> None:
        hlc = Hlc(1_767_225_600_000, 3, "ipad-1")
        assert format_hlc(hlc) == "1767225600000:00003:ipad-1"
        assert parse_hlc("1767225600000:00003:ipad-1") == hlc
        assert format_hlc(Hlc(5, 0, "a")) == "0000000000005:00000:a"

    def test_node_may_contain_colons(self) -> None:
        assert parse_hlc("1767225600000:00003:dev:7").node == "dev:7"

    @pytest.mark.parametrize(
        "text",
        [
            "",
            "junk",
            "1767225600000:3:ipad-1",
            "767225600000:00003:ipad-1",
            "1767225600000:00003:",
            "1767225600000:00003:ipad 1",
            "1767225600000:00003:ipad-é",
            "-767225600000:00003:ipad-1",
            "1767225600000:0000x:ipad-1",
            "\uff11767225600000:00003:ipad-1",  # a fullwidth digit one
            " 1767225600000:00003:ipad-1",
            "1767225600000:00003:ipad-1\n",
        ],
    )
    def test_parse_refuses_anything_but_the_exact_form(self, text: str) -> None:
        with pytest.raises(ValueError, match="not an HLC"):
            parse_hlc(text)

    @pytest.mark.parametrize(
        ("wall_ms", "counter", "node"),
        [
            (-1, 0, "a"),
            (10**13, 0, "a"),
            (0, -1, "a"),
            (0, 100_000, "a"),
            (0, 0, ""),
            (0, 0, "a b"),
        ],
    )
    def test_out_of_range_readings_are_refused(self, wall_ms: int, counter: int, node: str) -> None:
        with pytest.raises(ValueError, match="HLC"):
            Hlc(wall_ms, counter, node)

    @PROPERTY
    @given(hlcs)
    def test_round_trip(self, hlc: Hlc) -> None:
        assert parse_hlc(format_hlc(hlc)) == hlc

    @PROPERTY
    @given(hlcs, hlcs)
    def test_text_order_is_tuple_order(self, a: Hlc, b: Hlc) -> None:
        as_tuples = (a.wall_ms, a.counter, a.node) < (b.wall_ms, b.counter, b.node)
        assert (format_hlc(a) < format_hlc(b)) == as_tuples == (a < b)
        # Byte order too, which is what Swift and PostgreSQL (COLLATE "C") compare.
        assert (format_hlc(a).encode() < format_hlc(b).encode()) == as_tuples


class TestDrift:
    def test_a_year_ahead_is_clamped_keeping_the_counter(self) -> None:
        next_year = Hlc(NOW + 365 * 24 * 3600 * 1000, 7, "ipad-2")
        assert bound_drift(next_year, now_ms=NOW) == (Hlc(NOW + 60_000, 7, "ipad-2"), True)

    def test_up_to_the_limit_is_kept(self) -> None:
        at_limit = Hlc(NOW + 60_000, 1, "ipad-2")
        assert bound_drift(at_limit, now_ms=NOW) == (at_limit, False)
        assert bound_drift(Hlc(NOW - 5, 0, "a"), now_ms=NOW) == (Hlc(NOW - 5, 0, "a"), False)

    def test_limit_is_configurable(self) -> None:
        ahead = Hlc(NOW + 1_001, 0, "a")
        assert bound_drift(ahead, now_ms=NOW, max_drift_ms=1_000) == (
            Hlc(NOW + 1_000, 0, "a"),
            True,
        )

    @PROPERTY
    @given(hlcs, st.integers(min_value=0, max_value=10**12))
    def test_never_more_than_the_limit_ahead_and_never_later(self, hlc: Hlc, now_ms: int) -> None:
        bounded, clamped = bound_drift(hlc, now_ms=now_ms)
        assert bounded.wall_ms <= max(hlc.wall_ms, now_ms + 60_000)
        assert bounded <= hlc
        assert clamped == (bounded != hlc)


class TestTickAndReceive:
    def test_tick_examples(self) -> None:
        assert tick(None, now_ms=NOW, node="ipad-1") == Hlc(NOW, 0, "ipad-1")
        assert tick(Hlc(NOW, 0, "ipad-1"), now_ms=NOW, node="ipad-1") == Hlc(NOW, 1, "ipad-1")
        # The wall clock stepped back 500 ms: keep the logical time, count on.
        assert tick(Hlc(NOW + 500, 3, "ipad-1"), now_ms=NOW, node="ipad-1") == Hlc(
            NOW + 500, 4, "ipad-1"
        )
        assert tick(Hlc(NOW, 9, "ipad-1"), now_ms=NOW + 1, node="ipad-1") == Hlc(
            NOW + 1, 0, "ipad-1"
        )

    def test_receive_examples(self) -> None:
        remote = Hlc(NOW, 3, "ipad-2")
        assert receive(None, remote, now_ms=NOW - 1_000, node="ipad-1") == Hlc(NOW, 4, "ipad-1")
        assert receive(Hlc(NOW, 5, "ipad-1"), remote, now_ms=NOW - 1, node="ipad-1") == Hlc(
            NOW, 6, "ipad-1"
        )
        assert receive(Hlc(NOW + 50, 7, "ipad-1"), remote, now_ms=NOW, node="ipad-1") == Hlc(
            NOW + 50, 8, "ipad-1"
        )
        assert receive(Hlc(NOW, 7, "ipad-1"), remote, now_ms=NOW + 9, node="ipad-1") == Hlc(
            NOW + 9, 0, "ipad-1"
        )

    def test_counter_overflow_is_refused(self) -> None:
        with pytest.raises(ValueError, match="counter"):
            tick(Hlc(NOW, 99_999, "ipad-1"), now_ms=NOW, node="ipad-1")

    @PROPERTY
    @given(st.none() | near_hlcs, near_walls)
    def test_tick_is_monotonic(self, local: Hlc | None, now_ms: int) -> None:
        ticked = tick(local, now_ms=now_ms, node="ipad-1")
        assert ticked.wall_ms >= now_ms
        if local is not None:
            assert (ticked.wall_ms, ticked.counter) > (local.wall_ms, local.counter)

    @PROPERTY
    @given(st.none() | near_hlcs, near_hlcs, near_walls)
    def test_receive_is_monotonic(self, local: Hlc | None, remote: Hlc, now_ms: int) -> None:
        """After a receive the clock is past both readings, and never behind the wall."""
        received = receive(local, remote, now_ms=now_ms, node="ipad-1")
        assert (received.wall_ms, received.counter) > (remote.wall_ms, remote.counter)
        if local is not None:
            assert (received.wall_ms, received.counter) > (local.wall_ms, local.counter)
        assert received.wall_ms == max(now_ms, remote.wall_ms, local.wall_ms if local else 0)

    @PROPERTY
    @given(st.lists(st.tuples(st.booleans(), near_hlcs, near_walls), min_size=1, max_size=20))
    def test_a_device_never_goes_back_in_time(self, events: list[tuple[bool, Hlc, int]]) -> None:
        """Any mix of local events and receipts gives strictly increasing readings."""
        local: Hlc | None = None
        for is_receipt, remote, now_ms in events:
            if is_receipt:
                later = receive(local, remote, now_ms=now_ms, node="ipad-1")
            else:
                later = tick(local, now_ms=now_ms, node="ipad-1")
            assert local is None or later > local
            local = later
