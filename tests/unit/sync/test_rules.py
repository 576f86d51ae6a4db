"""The generic merge resolver: one example per rule, and properties over random histories."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.sync.clock import (
    CLOCK_SIZE_ALERT,
    Hlc,
    Ordering,
    compare,
    format_hlc,
    increment,
)
from server.sync.rules import (
    RULE_ORDER,
    Change,
    Decision,
    EntitySpec,
    Rejected,
    StateMachine,
    Version,
    resolve,
)

# No example database (nothing written into the repo); print_blob makes any failure replay.
PROPERTY = settings(max_examples=200, print_blob=True, database=None, deadline=None)

NOW = 1_767_225_600_000

STATUS = StateMachine(
    field="status",
    ranks={"open": 0, "sent": 1, "voided": 2, "paid": 3},
    allowed={
        "open": frozenset({"sent", "voided", "paid"}),
        "sent": frozenset({"voided", "paid"}),
    },
)
ORDER = EntitySpec(
    entity_type="order",
    scope="location",
    required_on_create=frozenset({"number", "status"}),
    create_only=frozenset({"number"}),
    counters=frozenset({"print_count"}),
    state=STATUS,
)
LINE = EntitySpec(
    entity_type="order_line",
    scope="location",
    required_on_create=frozenset({"order_id", "quantity"}),
    create_only=frozenset({"order_id"}),
    sticky_true=frozenset({"voided"}),
)
CASH = EntitySpec(
    entity_type="cash_payment",
    scope="location",
    immutable=True,
    required_on_create=frozenset({"order_id", "amount"}),
)
TABLE = EntitySpec(entity_type="table_state", scope="location", deletable=True)
STOCK = EntitySpec(entity_type="stock_level", scope="location", counters=frozenset({"on_hand"}))
# Every merge rule on one deletable entity, for the convergence properties.
EVERYTHING = EntitySpec(
    entity_type="ticket",
    scope="location",
    deletable=True,
    counters=frozenset({"print_count"}),
    state=STATUS,
    sticky_true=frozenset({"voided"}),
)


def at(seconds: int, node: str = "ipad-1", counter: int = 0) -> str:
    """The HLC text of a write ``seconds`` after NOW."""
    return format_hlc(Hlc(NOW + seconds * 1000, counter, node))


def upsert(fields: dict[str, Any], clock: dict[str, int], hlc: str | None = None) -> Change:
    device = next(iter(clock), "ipad-1")
    return Change("upsert", fields, clock, at(1, device) if hlc is None else hlc, device)


def delete(clock: dict[str, int], hlc: str | None = None) -> Change:
    device = next(iter(clock), "ipad-1")
    return Change("delete", {}, clock, at(1, device) if hlc is None else hlc, device)


def stored(data: dict[str, Any], clock: dict[str, int], hlc: str | None = None) -> Version:
    """A live row whose every field was last written at ``hlc``."""
    return Version(data, clock, dict.fromkeys(data, at(0) if hlc is None else hlc))


def tombstone(clock: dict[str, int]) -> Version:
    return Version({}, clock, {}, deleted=True)


OPEN_ORDER = stored({"number": 101, "status": "open", "table": "T4"}, {"ipad-1": 1})


def assert_rejected(decision: Decision, reason: str) -> str:
    """Check ``decision`` refused the change for ``reason`` with an explanation; return it."""
    assert decision.outcome == "rejected"
    assert decision.reason == reason
    assert decision.rule is None
    assert decision.detail
    return decision.detail


class TestCreate:
    def test_new_row_is_applied_with_every_field_stamped(self) -> None:
        change = upsert({"number": 101, "status": "open", "print_count": 2}, {"ipad-1": 1})
        decision = resolve(ORDER, None, change)
        assert decision == Decision(
            "applied",
            Version(
                {"number": 101, "status": "open", "print_count": 2},
                {"ipad-1": 1},
                dict.fromkeys(["number", "status", "print_count"], change.hlc),
            ),
        )

    def test_missing_fields_are_named(self) -> None:
        decision = resolve(ORDER, None, upsert({"table": "T4"}, {"ipad-1": 1}))
        detail = assert_rejected(decision, "missing_fields")
        assert decision.version is None
        assert "number, status" in detail

    @pytest.mark.parametrize("status", ["closed", 3, None, True])
    def test_unknown_state(self, status: object) -> None:
        change = upsert({"number": 1, "status": status}, {"ipad-1": 1})
        assert_rejected(resolve(ORDER, None, change), "unknown_state")

    def test_delete_of_an_unknown_row_leaves_a_tombstone(self) -> None:
        decision = resolve(TABLE, None, delete({"ipad-1": 1}))
        assert decision == Decision("applied", tombstone({"ipad-1": 1}))


class TestRefusals:
    @pytest.mark.parametrize(
        "clock",
        [
            {"ipad-1": -1},
            {"ipad-1": 1.5},
            {"ipad-1": True},
            {"": 1},
            {f"d{n}": 1 for n in range(257)},
        ],
    )
    def test_bad_clock(self, clock: Any) -> None:
        change = Change("upsert", {"number": 1, "status": "open"}, clock, at(1), "ipad-1")
        decision = resolve(ORDER, OPEN_ORDER, change)
        assert_rejected(decision, "bad_clock")
        assert decision.version == OPEN_ORDER  # a refusal leaves the row as it was

    @pytest.mark.parametrize(
        "hlc", ["", "yesterday", "1767225600000:1:ipad-1", "2026-01-01T00:00Z"]
    )
    def test_bad_hlc(self, hlc: str) -> None:
        change = upsert({"number": 1, "status": "open"}, {"ipad-1": 1}, hlc)
        assert_rejected(resolve(ORDER, None, change), "bad_hlc")

    @pytest.mark.parametrize("delta", [1.0, "2", True, None])
    def test_counter_delta_must_be_a_whole_number(self, delta: object) -> None:
        assert_rejected(
            resolve(STOCK, None, upsert({"on_hand": delta}, {"ipad-1": 1})), "bad_counter"
        )

    def test_delete_not_allowed_even_before_the_row_exists(self) -> None:
        detail = assert_rejected(resolve(ORDER, None, delete({"ipad-1": 1})), "delete_not_allowed")
        assert "void" in detail
        assert_rejected(resolve(ORDER, OPEN_ORDER, delete({"ipad-1": 2})), "delete_not_allowed")

    def test_rejected_carries_code_and_detail(self) -> None:
        error = Rejected("wrong_prefix", "this iPad numbers its orders A-…")
        assert (error.code, error.detail) == ("wrong_prefix", "this iPad numbers its orders A-…")
        assert str(error) == "wrong_prefix: this iPad numbers its orders A-…"


class TestOrdering:
    def test_equal_clock_is_a_duplicate(self) -> None:
        change = upsert({"table": "T9"}, {"ipad-1": 1})
        assert resolve(ORDER, OPEN_ORDER, change) == Decision("duplicate", OPEN_ORDER)

    def test_stale_change_changes_nothing(self) -> None:
        current = stored({"number": 101, "status": "sent", "table": "T5"}, {"ipad-1": 3})
        change = upsert({"table": "T9", "status": "open"}, {"ipad-1": 2})
        assert resolve(ORDER, current, change) == Decision("stale", current)

    def test_stale_change_still_adds_its_counter_delta(self) -> None:
        current = stored({"name": "Oat milk", "on_hand": 20}, {"ipad-1": 3, "ipad-2": 2})
        change = upsert({"on_hand": -2, "name": "Oat"}, {"ipad-1": 2, "ipad-2": 1})
        decision = resolve(STOCK, current, change)
        assert decision == Decision(
            "stale", msgspec.structs.replace(current, data={"name": "Oat milk", "on_hand": 18})
        )

    def test_stale_change_to_a_tombstone_adds_nothing(self) -> None:
        spec = msgspec.structs.replace(STOCK, deletable=True)
        gone = tombstone({"ipad-1": 3})
        assert resolve(spec, gone, upsert({"on_hand": 5}, {"ipad-1": 1})).version == gone

    def test_dominating_change_is_applied(self) -> None:
        change = upsert(
            {"table": "T7", "status": "sent"}, {"ipad-1": 1, "ipad-2": 1}, at(60, "ipad-2")
        )
        assert resolve(ORDER, OPEN_ORDER, change) == Decision(
            "applied",
            Version(
                {"number": 101, "status": "sent", "table": "T7"},
                {"ipad-1": 1, "ipad-2": 1},
                {"number": at(0), "status": at(60, "ipad-2"), "table": at(60, "ipad-2")},
            ),
        )

    def test_dominating_change_adds_counters(self) -> None:
        current = stored({"on_hand": 20}, {"ipad-1": 1})
        decision = resolve(STOCK, current, upsert({"on_hand": -3}, {"ipad-1": 2}))
        assert decision.outcome == "applied"
        assert decision.version is not None
        assert decision.version.data == {"on_hand": 17}

    def test_applied_clock_is_the_merge_without_zero_entries(self) -> None:
        change = upsert({"table": "T2"}, {"ipad-1": 2, "ipad-9": 0})
        decision = resolve(ORDER, OPEN_ORDER, change)
        assert decision.version is not None
        assert decision.version.clock == {"ipad-1": 2}


class TestStateMachine:
    def test_forward_move(self) -> None:
        decision = resolve(ORDER, OPEN_ORDER, upsert({"status": "paid"}, {"ipad-1": 2}))
        assert decision.outcome == "applied"
        assert decision.version is not None
        assert decision.version.data["status"] == "paid"

    @pytest.mark.parametrize(("before", "after"), [("paid", "open"), ("voided", "paid")])
    def test_moves_not_allowed_are_refused(self, before: str, after: str) -> None:
        current = stored({"number": 101, "status": before}, {"ipad-1": 2})
        decision = resolve(ORDER, current, upsert({"status": after}, {"ipad-1": 3}))
        detail = assert_rejected(decision, "state_backwards")
        assert before in detail and after in detail
        assert decision.version == current

    def test_staying_in_a_final_state_is_fine(self) -> None:
        current = stored({"number": 101, "status": "paid"}, {"ipad-1": 2})
        change = upsert({"status": "paid", "table": "T1"}, {"ipad-1": 3})
        assert resolve(ORDER, current, change).outcome == "applied"

    def test_unknown_state_on_update(self) -> None:
        assert_rejected(
            resolve(ORDER, OPEN_ORDER, upsert({"status": "lost"}, {"ipad-1": 2})), "unknown_state"
        )
        concurrent = upsert({"status": "lost"}, {"ipad-2": 1})
        assert_rejected(resolve(ORDER, OPEN_ORDER, concurrent), "unknown_state")

    def test_a_stored_state_the_spec_no_longer_knows_can_move_anywhere(self) -> None:
        current = stored({"number": 101, "status": "legacy"}, {"ipad-1": 2})
        assert (
            resolve(ORDER, current, upsert({"status": "open"}, {"ipad-1": 3})).outcome == "applied"
        )
        merged = resolve(ORDER, current, upsert({"status": "open"}, {"ipad-2": 1}))
        assert merged.version is not None
        assert merged.version.data["status"] == "open"


class TestSticky:
    VOIDED_LINE = stored({"order_id": "o-1", "quantity": 2, "voided": True}, {"ipad-1": 2})

    def test_unvoiding_is_refused(self) -> None:
        decision = resolve(LINE, self.VOIDED_LINE, upsert({"voided": False}, {"ipad-1": 3}))
        assert_rejected(decision, "sticky_field")

    def test_voiding_again_is_fine(self) -> None:
        decision = resolve(LINE, self.VOIDED_LINE, upsert({"voided": True}, {"ipad-1": 3}))
        assert decision.outcome == "applied"

    def test_concurrent_unvoid_loses_whatever_its_time(self) -> None:
        change = upsert({"voided": False, "quantity": 3}, {"ipad-2": 1}, at(99, "ipad-2"))
        decision = resolve(LINE, self.VOIDED_LINE, change)
        assert decision.outcome == "merged"
        assert decision.rule == "lww,sticky"
        assert decision.version is not None
        assert decision.version.data == {"order_id": "o-1", "quantity": 3, "voided": True}

    def test_when_neither_side_is_true_the_newer_write_wins(self) -> None:
        line = stored({"order_id": "o-1", "quantity": 2, "voided": None}, {"ipad-1": 2})
        change = upsert({"voided": False}, {"ipad-2": 1}, at(99, "ipad-2"))
        decision = resolve(LINE, line, change)
        assert decision.rule == "lww"
        assert decision.version is not None
        assert decision.version.data["voided"] is False


class TestImmutableAndCreateOnly:
    PAYMENT = stored({"order_id": "o-1", "amount": 2500}, {"ipad-1": 1})

    def test_identical_resend_is_a_duplicate_whatever_its_clock(self) -> None:
        for clock in ({"ipad-1": 2}, {"ipad-2": 1}, {"ipad-1": 1}):
            change = upsert({"order_id": "o-1", "amount": 2500}, clock)
            assert resolve(CASH, self.PAYMENT, change) == Decision("duplicate", self.PAYMENT)

    @pytest.mark.parametrize(
        "fields",
        [{"amount": 2000}, {"tip": 100}, {"amount": 2500.0}, {"order_id": "o-1", "amount": True}],
        ids=["changed", "added", "float_is_not_int", "bool_is_not_int"],
    )
    def test_any_change_is_refused(self, fields: dict[str, Any]) -> None:
        decision = resolve(CASH, self.PAYMENT, upsert(fields, {"ipad-1": 2}))
        assert_rejected(decision, "immutable")
        assert decision.version == self.PAYMENT

    def test_create_only_field_cannot_change(self) -> None:
        detail = assert_rejected(
            resolve(ORDER, OPEN_ORDER, upsert({"number": 102}, {"ipad-1": 2})), "create_only_field"
        )
        assert "number" in detail

    def test_create_only_field_may_be_resent_or_set_once(self) -> None:
        same = upsert({"number": 101, "table": "T2"}, {"ipad-1": 2})
        assert resolve(ORDER, OPEN_ORDER, same).outcome == "applied"
        unnumbered = stored({"status": "open"}, {"ipad-1": 1})
        assert resolve(ORDER, unnumbered, upsert({"number": 7}, {"ipad-1": 2})).outcome == "applied"


class TestConcurrent:
    CURRENT = Version(
        {"number": 101, "status": "sent", "table": "T5", "print_count": 1},
        {"ipad-1": 2},
        {"number": at(0), "status": at(20), "table": at(30), "print_count": at(20)},
    )

    def merged(self, change: Change, spec: EntitySpec = ORDER) -> Version:
        decision = resolve(spec, self.CURRENT, change)
        assert decision.outcome == "merged"
        assert decision.version is not None
        assert decision.version.clock == {"ipad-1": 2, "ipad-2": 1, "server": 1}
        return decision.version

    @pytest.mark.parametrize(
        ("hlc", "table"),
        [(at(40, "ipad-2"), "T8"), (at(25, "ipad-2"), "T5"), (at(30, "ipad-2"), "T8")],
        ids=["newer_wins", "older_loses", "tie_broken_by_node"],
    )
    def test_last_writer_wins_per_field(self, hlc: str, table: str) -> None:
        version = self.merged(upsert({"table": "T8"}, {"ipad-1": 1, "ipad-2": 1}, hlc))
        assert version.data["table"] == table
        assert version.field_hlcs["table"] == max(hlc, at(30))

    def test_a_field_without_a_stored_hlc_loses_to_any_incoming(self) -> None:
        for field_hlcs in ({}, {"table": "garbage"}):
            current = msgspec.structs.replace(self.CURRENT, field_hlcs=field_hlcs)
            change = upsert({"table": "T8"}, {"ipad-2": 1}, at(-9_999, "ipad-2"))
            version = resolve(ORDER, current, change).version
            assert version is not None
            assert version.data["table"] == "T8"

    def test_everything_at_once_lists_rules_in_a_fixed_order(self) -> None:
        change = upsert(
            {"table": "T9", "status": "paid", "print_count": 1, "note": "no onions"},
            {"ipad-1": 1, "ipad-2": 1},
            at(10, "ipad-2"),
        )
        decision = resolve(ORDER, self.CURRENT, change)
        assert decision.rule == "lww,state_rank,counter"
        assert decision.version is not None
        assert decision.version.data == {
            "number": 101,
            "status": "paid",
            "table": "T5",
            "print_count": 2,
            "note": "no onions",
        }
        assert decision.version.field_hlcs == {
            "number": at(0),
            "status": at(10, "ipad-2"),
            "table": at(30),
            "print_count": at(20),
            "note": at(10, "ipad-2"),
        }

    def test_agreeing_sides_name_no_rule(self) -> None:
        change = upsert({"table": "T5", "print_count": 0}, {"ipad-2": 1}, at(50, "ipad-2"))
        decision = resolve(ORDER, self.CURRENT, change)
        assert (decision.outcome, decision.rule) == ("merged", None)
        assert decision.version is not None
        assert decision.version.field_hlcs["table"] == at(50, "ipad-2")

    def test_lower_rank_loses_even_when_newer(self) -> None:
        version = self.merged(
            upsert({"status": "open"}, {"ipad-2": 1, "ipad-1": 1}, at(99, "ipad-2"))
        )
        assert version.data["status"] == "sent"
        assert version.field_hlcs["status"] == at(20)

    def test_delete_wins_against_a_live_row(self) -> None:
        spec = msgspec.structs.replace(ORDER, deletable=True)
        decision = resolve(spec, self.CURRENT, delete({"ipad-2": 1, "ipad-1": 1}))
        assert decision == Decision(
            "merged", tombstone({"ipad-1": 2, "ipad-2": 1, "server": 1}), rule="delete_wins"
        )

    def test_a_tombstone_stays_deleted(self) -> None:
        gone = tombstone({"ipad-1": 2})
        decision = resolve(TABLE, gone, upsert({"covers": 4}, {"ipad-2": 1}))
        assert decision == Decision(
            "merged", tombstone({"ipad-1": 2, "ipad-2": 1, "server": 1}), rule="delete_wins"
        )
        both = resolve(TABLE, gone, delete({"ipad-2": 1}))
        assert (both.outcome, both.rule, both.version) == (
            "merged",
            None,
            tombstone({"ipad-1": 2, "ipad-2": 1, "server": 1}),
        )

    def test_server_actor_is_configurable(self) -> None:
        change = upsert({"table": "T1"}, {"ipad-2": 1})
        decision = resolve(ORDER, self.CURRENT, change, server_actor="server-eu")
        assert decision.version is not None
        assert decision.version.clock == {"ipad-1": 2, "ipad-2": 1, "server-eu": 1}


class TestResurrection:
    def test_dominating_upsert_resurrects_a_complete_row(self) -> None:
        spec = msgspec.structs.replace(LINE, deletable=True)
        change = upsert({"order_id": "o-1", "quantity": 1}, {"ipad-1": 2, "ipad-2": 1})
        decision = resolve(spec, tombstone({"ipad-1": 2}), change)
        assert decision == Decision(
            "applied",
            Version(
                {"order_id": "o-1", "quantity": 1},
                {"ipad-1": 2, "ipad-2": 1},
                dict.fromkeys(["order_id", "quantity"], change.hlc),
            ),
        )

    def test_an_incomplete_resurrection_is_refused(self) -> None:
        spec = msgspec.structs.replace(LINE, deletable=True)
        change = upsert({"quantity": 1}, {"ipad-1": 3})
        assert_rejected(resolve(spec, tombstone({"ipad-1": 2}), change), "missing_fields")

    def test_dominating_delete(self) -> None:
        current = stored({"covers": 2}, {"ipad-1": 1})
        decision = resolve(TABLE, current, delete({"ipad-1": 1, "ipad-2": 1}))
        assert decision == Decision("applied", tombstone({"ipad-1": 1, "ipad-2": 1}))


def test_oversized_clock_is_flagged() -> None:
    big = {f"ipad-{n}": 1 for n in range(CLOCK_SIZE_ALERT)}
    assert not resolve(STOCK, None, upsert({"on_hand": 1}, big)).clock_oversized
    decision = resolve(STOCK, stored({"on_hand": 1}, big), upsert({"on_hand": 1}, {"ipad-99": 1}))
    assert decision.outcome == "merged"
    assert decision.clock_oversized


class TestSpecs:
    def test_specs_decode_from_json(self) -> None:
        """Domains and the shared vectors write specs as JSON; sets arrive as lists."""
        raw = msgspec.json.encode(ORDER)
        assert msgspec.json.decode(raw, type=EntitySpec) == ORDER
        decision = Decision("merged", OPEN_ORDER, rule="lww")
        assert msgspec.json.decode(msgspec.json.encode(decision), type=Decision) == decision

    @pytest.mark.parametrize(
        "ranks_allowed",
        [
            ({"open": 0, "paid": 0}, {}),
            ({"open": 0, "paid": 1}, {"paid": frozenset({"open"})}),
            ({"open": 0, "paid": 1}, {"open": frozenset({"closed"})}),
        ],
        ids=["tied_ranks", "downward_move", "unknown_state"],
    )
    def test_state_machine_must_only_go_up(
        self, ranks_allowed: tuple[dict[str, int], dict[str, frozenset[str]]]
    ) -> None:
        ranks, allowed = ranks_allowed
        with pytest.raises(ValueError, match=r"rank|unknown"):
            StateMachine("status", ranks, allowed)

    @pytest.mark.parametrize(
        "kinds",
        [
            {"counters": frozenset({"x"}), "sticky_true": frozenset({"x"})},
            {"create_only": frozenset({"status"}), "state": STATUS},
            {"immutable": True, "counters": frozenset({"x"})},
        ],
    )
    def test_each_field_merges_by_one_rule(self, kinds: dict[str, Any]) -> None:
        with pytest.raises(ValueError, match=r"rule|immutable"):
            EntitySpec(entity_type="thing", scope="location", **kinds)

    def test_rule_order(self) -> None:
        assert RULE_ORDER == ("lww", "state_rank", "counter", "sticky", "delete_wins")


# ---- properties ------------------------------------------------------------------------

ACTORS = ["ipad-1", "ipad-2", "ipad-3", "server"]
small_clocks = st.dictionaries(st.sampled_from(ACTORS), st.integers(0, 3), min_size=1, max_size=4)
hlc_texts = st.builds(
    lambda seconds, counter, node: at(seconds, node, counter),
    st.integers(0, 5),
    st.integers(0, 2),
    st.sampled_from(ACTORS),
)
values = st.one_of(st.none(), st.booleans(), st.integers(-2, 2), st.sampled_from(["T1", "T2"]))
STATES = list(STATUS.ranks)
any_fields = st.fixed_dictionaries(
    {},
    optional={
        "table": values,
        "voided": st.booleans(),
        "status": st.sampled_from([*STATES, "lost"]),
        "print_count": st.integers(-3, 3),
        "number": st.sampled_from([101, 102]),
    },
)


@st.composite
def versions(draw: st.DrawFn) -> Version | None:
    if draw(st.booleans()) and draw(st.booleans()):
        return None
    if draw(st.booleans()) and draw(st.booleans()):
        return tombstone(draw(small_clocks))
    data = draw(any_fields.filter(lambda fields: fields.get("status") != "lost"))
    # Some fields lack a stored HLC, as rows written before HLCs were recorded would.
    field_hlcs = {name: draw(hlc_texts) for name in data if draw(st.integers(0, 4))}
    return Version(data, draw(small_clocks), field_hlcs)


@st.composite
def changes(draw: st.DrawFn) -> Change:
    op: Literal["upsert", "delete"] = draw(
        st.sampled_from(["upsert", "upsert", "upsert", "delete"])
    )
    # Now and then a malformed clock or HLC, which must be refused, not raise.
    clock: Any = {"ipad-1": -1} if draw(st.integers(0, 15)) == 9 else draw(small_clocks)
    hlc = "junk" if draw(st.integers(0, 15)) == 9 else draw(hlc_texts)
    return Change(op, draw(any_fields), clock, hlc, "ipad-2")


specs = st.sampled_from([ORDER, LINE, CASH, TABLE, STOCK, EVERYTHING])


@PROPERTY
@given(specs, versions(), changes())
def test_resolve_is_total_and_deterministic(
    spec: EntitySpec, current: Version | None, change: Change
) -> None:
    """Any change gets a decision (never an exception), the same one every time."""
    decision = resolve(spec, current, change)
    assert resolve(spec, current, change) == decision
    version = decision.version
    if decision.outcome == "rejected":
        assert version == current
        assert decision.reason and decision.detail
        return
    assert version is not None
    if decision.outcome == "merged":
        assert current is not None
        assert decision.rule is None or set(decision.rule.split(",")) <= set(RULE_ORDER)
        # The merged row strictly dominates both sides, so every replica sees a new version.
        assert compare(version.clock, current.clock) is Ordering.AFTER
        assert compare(version.clock, change.clock) is Ordering.AFTER
    if decision.outcome in {"duplicate", "stale"}:
        assert current is not None
        assert version.clock == current.clock


@st.composite
def concurrent_pair(draw: st.DrawFn) -> tuple[Version, Change, Change]:
    """A live row and two changes made on two iPads that had both seen it, but not each other.

    Each iPad stamps its write later than the row's writes (it received them first), and
    only moves the status forward from what it saw, as a well-behaved device does.
    """
    base_status = draw(st.sampled_from(STATES))
    base_voided = draw(st.booleans())
    base = Version(
        {"status": base_status, "voided": base_voided, "table": "T1", "print_count": 3},
        {"ipad-1": draw(st.integers(1, 3))},
        {"status": at(0), "voided": at(0), "table": at(0, "ipad-1", 1), "print_count": at(0)},
    )
    forward = sorted(STATUS.allowed.get(base_status, frozenset()) | {base_status})

    def change_from(device: str) -> Change:
        clock = increment(base.clock, device)
        hlc = at(draw(st.integers(1, 3)), device, draw(st.integers(0, 2)))
        if draw(st.integers(0, 5)) == 0:
            return Change("delete", {}, clock, hlc, device)
        fields = draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "status": st.sampled_from(forward),
                    "voided": st.just(True) if base_voided else st.booleans(),
                    "table": st.sampled_from(["T2", "T3"]),
                    "print_count": st.integers(-2, 2),
                    "note": st.sampled_from(["a", "b"]),
                },
            )
        )
        return Change("upsert", fields, clock, hlc, device)

    return base, change_from("ipad-2"), change_from("ipad-3")


def _in_order(base: Version, first: Change, second: Change) -> Decision:
    applied = resolve(EVERYTHING, base, first)
    assert applied.outcome == "applied"
    assert applied.version is not None
    merged = resolve(EVERYTHING, applied.version, second)
    assert merged.outcome == "merged"
    return merged


@PROPERTY
@given(concurrent_pair())
def test_concurrent_changes_merge_the_same_in_either_order(
    pair: tuple[Version, Change, Change],
) -> None:
    """lww, state_rank, counter, sticky and delete_wins are each commutative."""
    base, one, other = pair
    first, second = _in_order(base, one, other), _in_order(base, other, one)
    assert first.version == second.version
    assert first.version is not None
    assert compare(first.version.clock, one.clock) is Ordering.AFTER
    assert compare(first.version.clock, other.clock) is Ordering.AFTER


@st.composite
def causal_counter_changes(draw: st.DrawFn) -> list[Change]:
    """Changes from a causal history: each has its own actor and may have seen earlier ones."""
    count = draw(st.integers(1, 8))
    made: list[Change] = []
    for index in range(count):
        seen = draw(st.sets(st.integers(0, index - 1))) if index else set()
        clock = {f"d{index}": 1} | {f"d{earlier}": 1 for earlier in seen}
        fields: dict[str, Any] = {"on_hand": draw(st.integers(-5, 5))}
        if draw(st.booleans()):
            fields["name"] = draw(st.sampled_from(["Oat milk", "Oat milk 1L"]))
        made.append(Change("upsert", fields, clock, at(index, f"d{index}"), f"d{index}"))
    return made


@PROPERTY
@given(causal_counter_changes().flatmap(st.permutations))
def test_counter_total_is_the_sum_of_deltas_in_any_order(pushes: list[Change]) -> None:
    """Stale, applied or merged, every delta is counted exactly once."""
    current: Version | None = None
    for change in pushes:
        decision = resolve(STOCK, current, change)
        assert decision.outcome in {"applied", "merged", "stale"}
        current = decision.version
    assert current is not None
    assert current.data["on_hand"] == sum(change.fields["on_hand"] for change in pushes)


@PROPERTY
@given(
    st.lists(st.tuples(small_clocks, st.sampled_from([*STATES, "lost"]), hlc_texts), max_size=15)
)
def test_status_never_goes_down_in_rank(history: list[tuple[dict[str, int], str, str]]) -> None:
    """Whatever arrives, in whatever order, an order's status only ever moves forward."""
    current = stored({"number": 101, "status": "open"}, {"ipad-1": 1})
    for clock, status, hlc in history:
        decision = resolve(ORDER, current, Change("upsert", {"status": status}, clock, hlc, "x"))
        assert decision.version is not None
        after = decision.version.data["status"]
        assert STATUS.ranks[after] >= STATUS.ranks[current.data["status"]]
        current = decision.version


def test_concurrent_pair_examples_are_really_concurrent() -> None:
    """Guard the generator above: its two changes are concurrent and both dominate the base."""
    base = stored({"status": "open"}, {"ipad-1": 2})
    one, other = increment(base.clock, "ipad-2"), increment(base.clock, "ipad-3")
    assert compare(one, other) is Ordering.CONCURRENT
    assert compare(one, base.clock) is Ordering.AFTER
