"""Merge rules for synced entities: one declarative spec per entity type, one resolver.

A domain says how its entity merges with an :class:`EntitySpec` (an order's number never
changes, its status only moves forward, a voided line stays voided, a cash payment is
immutable, a stock level is a counter) and registers it with the engine. The engine loads
the stored :class:`Version`, hands it to :func:`resolve` with one pushed :class:`Change`,
stores the :class:`Decision` and logs every ``merged`` one as a conflict. Nothing here does
I/O, so the iPad runs the same rules from ``shared/schema/vectors/conflicts.json``.

Rules, in the order :func:`resolve` checks them (``ordering`` is
``compare(change.clock, current.clock)``):

==  ===============================================  =========  ===========================
#   When                                             Outcome    ``reason`` / ``rule``
==  ===============================================  =========  ===========================
1   the change's clock or HLC is malformed           rejected   bad_clock, bad_hlc
2   a delete on a spec that is not ``deletable``     rejected   delete_not_allowed
3   an upsert whose counter delta is not an integer  rejected   bad_counter
4   no current row, a delete                         applied    (a tombstone)
5   no current row, an upsert: a required field is   rejected   missing_fields,
    missing, or the state is not a known state                  unknown_state
6   no current row, an upsert otherwise              applied    (counters start at 0)
7   ``immutable`` spec, an upsert changing a value   rejected   immutable
8   ``immutable`` spec, an upsert changing nothing   duplicate
9   an upsert changing a ``create_only`` field       rejected   create_only_field
10  ordering ``equal``                               duplicate
11  ordering ``before``: the row already has it      stale      (counter deltas still add)
12  ordering ``after``: the change dominates         applied
    - a state move not in ``allowed[current]``       rejected   state_backwards
    - a ``sticky_true`` field going true -> false    rejected   sticky_field
    - an upsert on a tombstone resurrects it, and    rejected   missing_fields,
      must be complete like a new row                           unknown_state
13  ordering ``concurrent``                          merged     see below
==  ===============================================  =========  ===========================

A concurrent merge settles each field the change carries by its kind: counters add their
delta (``counter``), the state field keeps the higher rank (``state_rank``), a sticky flag
stays true if either side is true (``sticky``; otherwise it is an ordinary field), and
every other field keeps the value with the newer HLC (``lww``; a value without a stored HLC
loses). A delete against a live row,
or anything against a tombstone, ends deleted (``delete_wins``). The merged clock is
``increment(merge(current, change), server_actor)``, so it strictly dominates both sides
and every device that pulls it sees a new version. ``rule`` names the rules that settled a
real disagreement, comma-separated in the order of :data:`RULE_ORDER`, or is ``None`` when
the two sides agreed on everything the change carries.

Each rule alone is commutative, so two concurrent changes merge to the same data in either
order, provided each device stamps its writes with an HLC later than those it has seen
(:func:`server.sync.clock.receive`) and every ``allowed`` state move goes up in rank (which
:class:`StateMachine` enforces). ``field_hlcs`` keeps, per field, the HLC of the newest write
that agrees with the kept value.

Values are compared as canonical JSON, so ``1``, ``1.0`` and ``true`` are three different
values here, as they are on the iPad. Tombstones carry no data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import msgspec

from server.sync.clock import (
    Hlc,
    Ordering,
    check_clock,
    compare,
    increment,
    is_oversized,
    merge,
    parse_hlc,
)

__all__ = [
    "RULE_ORDER",
    "Change",
    "Decision",
    "EntitySpec",
    "Rejected",
    "StateMachine",
    "Version",
    "resolve",
]

RULE_ORDER = ("lww", "state_rank", "counter", "sticky", "delete_wins")
"""The order in which a merged :class:`Decision` lists the rules that decided it."""

Outcome = Literal["applied", "merged", "stale", "duplicate", "rejected"]


class StateMachine(msgspec.Struct, frozen=True):
    """A field whose value only moves forward through named states (an order's status)."""

    field: str
    ranks: dict[str, int]
    """Every known state and its rank; the higher rank wins a concurrent merge."""
    allowed: dict[str, frozenset[str]]
    """For each state, the states it may move to (itself excluded); absent means none."""

    def __post_init__(self) -> None:
        # Equal ranks would make a concurrent merge depend on which change arrived first.
        if len(set(self.ranks.values())) != len(self.ranks):
            raise ValueError(f"states of {self.field!r} need distinct ranks")
        for state, targets in self.allowed.items():
            for target in targets:
                if state not in self.ranks or target not in self.ranks:
                    raise ValueError(f"{state!r} -> {target!r} names an unknown state")
                # A move down in rank applied in one order would be undone by the rank
                # merge in the other: model "reopen" as a new, higher state instead.
                if self.ranks[target] <= self.ranks[state]:
                    raise ValueError(f"{state!r} -> {target!r} does not go up in rank")


class EntitySpec(msgspec.Struct, frozen=True):
    """How one entity type syncs and merges."""

    entity_type: str
    scope: Literal["location", "restaurant"]
    pushable: bool = True
    """False for server-authored data (the catalog); the engine refuses pushes to it."""
    deletable: bool = False
    """False: a delete is refused. Orders, lines and payments are voided, never deleted."""
    immutable: bool = False
    """Once created no field may change (cash payments)."""
    required_on_create: frozenset[str] = frozenset()
    create_only: frozenset[str] = frozenset()
    """Set at creation, never changed (an order's number)."""
    counters: frozenset[str] = frozenset()
    """A change carries a delta for these, and deltas add up (stock on hand)."""
    state: StateMachine | None = None
    sticky_true: frozenset[str] = frozenset()
    """Flags that never go back to false (a line's ``voided``)."""

    def __post_init__(self) -> None:
        # Each field merges by exactly one rule; a spec saying otherwise is a typo.
        kinds = [self.counters, self.create_only, self.sticky_true]
        if self.state is not None:
            kinds.append(frozenset({self.state.field}))
        named = [field for kind in kinds for field in kind]
        if len(named) != len(set(named)):
            raise ValueError(f"{self.entity_type}: a field has more than one merge rule")
        if self.immutable and self.counters:
            raise ValueError(f"{self.entity_type}: an immutable entity cannot have counters")


class Version(msgspec.Struct, frozen=True):
    """An entity as the server stores it."""

    data: dict[str, Any]
    clock: dict[str, int]
    field_hlcs: dict[str, str]
    """Field -> HLC text of the newest write that agrees with its value."""
    deleted: bool = False


class Change(msgspec.Struct, frozen=True):
    """One pushed write to one entity."""

    op: Literal["upsert", "delete"]
    fields: dict[str, Any]
    """Changed fields only; counters carry a delta, not a total."""
    clock: dict[str, int]
    hlc: str
    device: str


class Decision(msgspec.Struct, frozen=True):
    """What :func:`resolve` decided, and the entity after it."""

    outcome: Outcome
    version: Version | None
    """The entity after this change; ``None`` only when rejected with no current row."""
    rule: str | None = None
    """For ``merged``: the rules that settled a disagreement, e.g. ``"lww,counter"``."""
    reason: str | None = None
    """For ``rejected``: a stable code such as ``state_backwards``."""
    detail: str | None = None
    """For ``rejected``: a sentence for the person whose change it was."""
    clock_oversized: bool = False
    """The resulting clock is longer than ``CLOCK_SIZE_ALERT``: retire old devices."""


class Rejected(Exception):
    """A change the rules refuse; :func:`resolve` turns it into a ``rejected`` decision."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


def resolve(
    spec: EntitySpec, current: Version | None, change: Change, *, server_actor: str = "server"
) -> Decision:
    """Decide what one pushed change does to the stored entity (see the module's table)."""
    try:
        return _resolve(spec, current, change, server_actor)
    except Rejected as rejected:
        return Decision("rejected", current, reason=rejected.code, detail=rejected.detail)


def _resolve(
    spec: EntitySpec, current: Version | None, change: Change, server_actor: str
) -> Decision:
    try:
        clock = check_clock(change.clock)
    except ValueError as error:
        raise Rejected("bad_clock", f"The change's clock is not valid: {error}.") from None
    try:
        hlc = parse_hlc(change.hlc)
    except ValueError:
        raise Rejected("bad_hlc", f"The change's timestamp {change.hlc!r} is not valid.") from None
    if change.op == "delete" and not spec.deletable:
        raise Rejected(
            "delete_not_allowed", f"A {spec.entity_type} cannot be deleted; void it instead."
        )
    fields = change.fields if change.op == "upsert" else {}
    for name in spec.counters & fields.keys():
        delta = fields[name]
        if isinstance(delta, bool) or not isinstance(delta, int):
            raise Rejected("bad_counter", f"{name} must change by a whole number.")

    if current is None:
        if change.op == "delete":
            return _decided("applied", _tombstone(clock))
        return _decided("applied", _created(spec, fields, change.hlc, clock))

    if spec.immutable and change.op == "upsert":
        changed = sorted(
            name
            for name, value in fields.items()
            if name not in current.data or not _same(current.data[name], value)
        )
        if changed:
            raise Rejected(
                "immutable",
                f"A {spec.entity_type} cannot be changed once made ({', '.join(changed)}).",
            )
        return _decided("duplicate", current)
    for name in sorted(spec.create_only & fields.keys()):
        if name in current.data and not _same(current.data[name], fields[name]):
            raise Rejected("create_only_field", f"The {spec.entity_type}'s {name} cannot change.")

    match compare(clock, current.clock):
        case Ordering.EQUAL:
            return _decided("duplicate", current)
        case Ordering.BEFORE:
            return _decided("stale", _with_late_deltas(spec, current, fields))
        case Ordering.AFTER:
            return _decided("applied", _applied(spec, current, change, fields, clock))
        case Ordering.CONCURRENT:
            merged_clock = increment(merge(current.clock, clock), server_actor)
            version, used = _merged(spec, current, change, fields, hlc, merged_clock)
            rule = ",".join(name for name in RULE_ORDER if name in used) or None
            return _decided("merged", version, rule=rule)


def _decided(outcome: Outcome, version: Version, *, rule: str | None = None) -> Decision:
    return Decision(outcome, version, rule=rule, clock_oversized=is_oversized(version.clock))


def _tombstone(clock: dict[str, int]) -> Version:
    return Version(data={}, clock=clock, field_hlcs={}, deleted=True)


def _created(
    spec: EntitySpec, fields: Mapping[str, Any], hlc: str, clock: dict[str, int]
) -> Version:
    """A new row (or a resurrected tombstone): complete, in a known state, counters from 0."""
    missing = sorted(spec.required_on_create - fields.keys())
    if missing:
        raise Rejected("missing_fields", f"A new {spec.entity_type} needs {', '.join(missing)}.")
    _check_known_state(spec, fields)
    # A counter's first delta is its total: it starts from 0.
    return Version(data=dict(fields), clock=clock, field_hlcs=dict.fromkeys(fields, hlc))


def _with_late_deltas(spec: EntitySpec, current: Version, fields: Mapping[str, Any]) -> Version:
    """The stored row plus a stale change's counter deltas, and nothing else from it."""
    # Exactly-once push means we never see a change twice: its delta is not yet counted.
    deltas = {name: fields[name] for name in spec.counters & fields.keys()}
    if not deltas or current.deleted:
        return current
    data = dict(current.data)
    for name, delta in deltas.items():
        data[name] = data.get(name, 0) + delta
    return msgspec.structs.replace(current, data=data)


def _applied(
    spec: EntitySpec,
    current: Version,
    change: Change,
    fields: Mapping[str, Any],
    clock: dict[str, int],
) -> Version:
    """The row after a change that has seen everything the row has."""
    merged_clock = merge(current.clock, clock)
    if change.op == "delete":
        return _tombstone(merged_clock)
    if current.deleted:
        return _created(spec, fields, change.hlc, merged_clock)
    _check_known_state(spec, fields)
    if spec.state is not None and spec.state.field in fields:
        before, after = current.data.get(spec.state.field), fields[spec.state.field]
        if (
            before in spec.state.ranks
            and after != before
            and after not in spec.state.allowed.get(before, frozenset())
        ):
            raise Rejected(
                "state_backwards", f"A {spec.entity_type} cannot go from {before} to {after}."
            )
    for name in sorted(spec.sticky_true & fields.keys()):
        if current.data.get(name) is True and fields[name] is not True:
            raise Rejected("sticky_field", f"{name} cannot be undone on a {spec.entity_type}.")

    data = dict(current.data)
    for name, value in fields.items():
        data[name] = data.get(name, 0) + value if name in spec.counters else value
    field_hlcs = {**current.field_hlcs, **dict.fromkeys(fields, change.hlc)}
    return Version(data=data, clock=merged_clock, field_hlcs=field_hlcs)


def _merged(
    spec: EntitySpec,
    current: Version,
    change: Change,
    fields: Mapping[str, Any],
    hlc: Hlc,
    clock: dict[str, int],
) -> tuple[Version, set[str]]:
    """Two concurrent writes folded into one row, and the rules that settled a disagreement."""
    if current.deleted or change.op == "delete":
        # Deletes are only allowed where nothing needs an audit trail (tables, drafts), so
        # the safe side of a delete/edit race is the delete; two deletes simply agree.
        agreed = current.deleted and change.op == "delete"
        return _tombstone(clock), set() if agreed else {"delete_wins"}

    _check_known_state(spec, fields)
    data = dict(current.data)
    field_hlcs = dict(current.field_hlcs)
    used: set[str] = set()
    for name, value in fields.items():
        stored_hlc = _parsed(current.field_hlcs.get(name))
        # An HLC names one write, so an equal one never carries a different value.
        incoming_newer = stored_hlc is None or hlc > stored_hlc
        newest = change.hlc if incoming_newer else current.field_hlcs[name]
        if name not in current.data:
            data[name], field_hlcs[name] = value, change.hlc
            continue
        stored = current.data[name]
        if name in spec.counters:
            data[name], field_hlcs[name] = stored + value, newest
            if value != 0:
                used.add("counter")
            continue
        if _same(stored, value):
            field_hlcs[name] = newest
            continue
        if spec.state is not None and name == spec.state.field:
            rule = "state_rank"
            ranks = spec.state.ranks
            # A stored state the spec no longer knows ranks below every known one.
            incoming_wins = stored not in ranks or ranks[value] > ranks[stored]
        elif name in spec.sticky_true and (stored is True or value is True):
            rule, incoming_wins = "sticky", value is True
        else:
            rule, incoming_wins = "lww", incoming_newer
        used.add(rule)
        if incoming_wins:
            data[name], field_hlcs[name] = value, change.hlc
    return Version(data=data, clock=clock, field_hlcs=field_hlcs), used


def _check_known_state(spec: EntitySpec, fields: Mapping[str, Any]) -> None:
    if spec.state is not None and spec.state.field in fields:
        value = fields[spec.state.field]
        if not isinstance(value, str) or value not in spec.state.ranks:
            raise Rejected(
                "unknown_state", f"{value!r} is not a {spec.entity_type} {spec.state.field}."
            )


def _parsed(text: str | None) -> Hlc | None:
    """A stored HLC, or ``None`` if there is none (or it is unreadable): it then loses."""
    try:
        return parse_hlc(text) if text is not None else None
    except ValueError:
        return None


def _same(a: object, b: object) -> bool:
    """Equal as canonical JSON: ``1``, ``1.0`` and ``true`` differ, key order does not."""
    return msgspec.json.encode(a, order="sorted") == msgspec.json.encode(b, order="sorted")
