"""Vector clocks and hybrid logical clocks for the sync core: values in, values out.

**Vector clocks** are plain ``dict[str, int]``: actor -> counter. Actors are server-issued
device ids (a re-installed iPad gets a new one, so an actor never restarts its count) and
the actor ``"server"``, which ticks when the server merges concurrent writes. A missing
actor counts as 0, so zero entries carry no information: :func:`compare` ignores them and
:func:`merge` drops them. Clocks only ever grow by one entry per device, so devices that can
never write again are :func:`fold`-ed away by the engine, and :func:`is_oversized` raises
the alarm before a clock gets long (Riak's ``small_vclock`` of 50 is the cautionary tale,
basho/riak_kv#1864).

**Hybrid logical clocks** (Kulkarni et al., "Logical Physical Clocks and Consistent
Snapshots in Globally Distributed Databases", 2014) order writes for last-writer-wins
without trusting any one device's wall clock: an :class:`Hlc` is ``(wall_ms, counter,
node)``, compared in that order, so ties break deterministically on the device id. Its
text form is fixed width, ``"{wall_ms:013d}:{counter:05d}:{node}"``, e.g.
``"1767225600000:00003:ipad-1"``: the zero padding makes plain text order equal tuple
order, so HLC strings sort correctly in PostgreSQL, Swift and here alike. Nodes are
printable ASCII without spaces, so "text order" means the same thing (byte order) in every
language.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from enum import StrEnum

import msgspec

__all__ = [
    "CLOCK_SIZE_ALERT",
    "MAX_CLOCK_ENTRIES",
    "MAX_COUNTER",
    "MAX_HLC_COUNTER",
    "MAX_WALL_MS",
    "Hlc",
    "Ordering",
    "bound_drift",
    "check_clock",
    "compare",
    "fold",
    "format_hlc",
    "increment",
    "is_oversized",
    "merge",
    "parse_hlc",
    "receive",
    "tick",
]

CLOCK_SIZE_ALERT = 32
"""A clock with more non-zero entries than this should be looked at (retire old devices)."""

MAX_CLOCK_ENTRIES = 256
"""A pushed clock longer than this is refused outright: no restaurant has 256 live iPads."""

MAX_COUNTER = 2**63 - 1
"""Counters must fit a signed 64-bit integer, so Swift's ``Int`` and PostgreSQL's ``bigint``
hold them too."""

MAX_WALL_MS = 10**13 - 1
"""The largest wall time the 13-digit text form can hold (the year 2286)."""

MAX_HLC_COUNTER = 10**5 - 1
"""The largest logical counter the 5-digit text form can hold."""

_HLC_TEXT = re.compile(r"([0-9]{13}):([0-9]{5}):([!-~]+)")
_NODE = re.compile(r"[!-~]+")


class Ordering(StrEnum):
    """How clock ``a`` relates to clock ``b`` in :func:`compare`."""

    EQUAL = "equal"
    BEFORE = "before"
    """``a`` happened before ``b``: ``b`` has seen everything ``a`` has, and more."""
    AFTER = "after"
    """``a`` happened after ``b``: ``a`` dominates."""
    CONCURRENT = "concurrent"
    """Each has seen something the other has not: a conflict to merge."""


def compare(a: Mapping[str, int], b: Mapping[str, int]) -> Ordering:
    """Say whether ``a`` happened before, after, at the same time as or concurrently with ``b``.

    A missing actor counts as 0, so ``{"a": 1, "b": 0}`` equals ``{"a": 1}``.
    """
    a_ahead = b_ahead = False
    for actor in a.keys() | b.keys():
        mine, theirs = a.get(actor, 0), b.get(actor, 0)
        a_ahead = a_ahead or mine > theirs
        b_ahead = b_ahead or theirs > mine
    if a_ahead and b_ahead:
        return Ordering.CONCURRENT
    if a_ahead:
        return Ordering.AFTER
    if b_ahead:
        return Ordering.BEFORE
    return Ordering.EQUAL


def merge(a: Mapping[str, int], b: Mapping[str, int]) -> dict[str, int]:
    """The pointwise maximum: the least clock that has seen both. Zero entries are dropped."""
    merged = {actor: max(a.get(actor, 0), b.get(actor, 0)) for actor in a.keys() | b.keys()}
    return {actor: count for actor, count in sorted(merged.items()) if count > 0}


def increment(clock: Mapping[str, int], actor: str) -> dict[str, int]:
    """A copy of ``clock`` with ``actor``'s counter one higher: a new event by ``actor``."""
    return {**clock, actor: clock.get(actor, 0) + 1}


def fold(clock: Mapping[str, int], retired: Collection[str]) -> dict[str, int]:
    """Drop the entries of retired actors: devices that can never write again.

    Only safe once every live replica has seen the retired device's last write, which is
    the engine's to decide; dropping an entry earlier could make an old write look new.
    """
    return {actor: count for actor, count in clock.items() if actor not in retired}


def is_oversized(clock: Mapping[str, int]) -> bool:
    """Whether the clock has more than :data:`CLOCK_SIZE_ALERT` non-zero entries."""
    return sum(1 for count in clock.values() if count > 0) > CLOCK_SIZE_ALERT


def check_clock(value: object) -> dict[str, int]:
    """Return ``value`` as a clock, or raise ``ValueError`` saying what is wrong with it.

    A clock is an object of at most :data:`MAX_CLOCK_ENTRIES` entries, each a non-empty
    actor name mapped to a whole number from 0 to :data:`MAX_COUNTER` (``true`` is not a
    number here, even though Python says ``True == 1``).
    """
    if not isinstance(value, Mapping):
        raise ValueError("a clock must be an object of actor -> counter")
    if len(value) > MAX_CLOCK_ENTRIES:
        raise ValueError(f"a clock may have at most {MAX_CLOCK_ENTRIES} entries")
    clock: dict[str, int] = {}
    for actor, count in value.items():
        if not isinstance(actor, str) or not actor:
            raise ValueError("clock actors must be non-empty strings")
        if isinstance(count, bool) or not isinstance(count, int):
            raise ValueError(f"the counter for {actor!r} must be a whole number")
        if not 0 <= count <= MAX_COUNTER:
            raise ValueError(f"the counter for {actor!r} must be between 0 and {MAX_COUNTER}")
        clock[actor] = count
    return clock


class Hlc(msgspec.Struct, frozen=True, order=True):
    """A hybrid logical clock reading, ordered by ``(wall_ms, counter, node)``."""

    wall_ms: int
    """Milliseconds since the Unix epoch, as the writer's HLC saw them."""
    counter: int
    """Logical counter that orders events within one ``wall_ms``."""
    node: str
    """The writing device's id (or ``"server"``); breaks exact ties deterministically."""

    def __post_init__(self) -> None:
        # Out-of-range parts would break the fixed-width text form and so its ordering.
        if not 0 <= self.wall_ms <= MAX_WALL_MS:
            raise ValueError(f"HLC wall time must be between 0 and {MAX_WALL_MS}")
        if not 0 <= self.counter <= MAX_HLC_COUNTER:
            raise ValueError(f"HLC counter must be between 0 and {MAX_HLC_COUNTER}")
        if not _NODE.fullmatch(self.node):
            raise ValueError("HLC node must be printable ASCII without spaces")


def format_hlc(hlc: Hlc) -> str:
    """The fixed-width text form, ``"{wall_ms:013d}:{counter:05d}:{node}"``."""
    return f"{hlc.wall_ms:013d}:{hlc.counter:05d}:{hlc.node}"


def parse_hlc(text: str) -> Hlc:
    """Read the text form written by :func:`format_hlc`; raise ``ValueError`` on anything else.

    Only the exact fixed-width form is accepted, so every HLC has exactly one spelling and
    comparing texts stays the same as comparing readings.
    """
    match = _HLC_TEXT.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"not an HLC: {text!r}")
    wall_ms, counter, node = match.groups()
    return Hlc(int(wall_ms), int(counter), node)


def bound_drift(hlc: Hlc, *, now_ms: int, max_drift_ms: int = 60_000) -> tuple[Hlc, bool]:
    """Clamp an HLC whose wall time runs more than ``max_drift_ms`` ahead of the server.

    Returns the HLC to store and whether it was clamped. Without this, one iPad with its
    clock set to next year would win every last-writer-wins decision for a year. The
    jlongster/crdt-example-app reference HLC refuses readings beyond a ``maxDrift`` of 60 s;
    the server clamps instead of refusing, so an offline device's work is never lost, and
    keeps the counter so the device's own order survives.
    """
    # https://github.com/jlongster/crdt-example-app/blob/master/shared/timestamp.js
    # (config.maxDrift = 60000; Timestamp.recv throws ClockDriftError beyond it).
    ceiling = now_ms + max_drift_ms
    if hlc.wall_ms <= ceiling:
        return hlc, False
    return Hlc(ceiling, hlc.counter, hlc.node), True


def tick(local: Hlc | None, *, now_ms: int, node: str) -> Hlc:
    """The HLC for a local or send event: later than ``local`` even if the wall clock went back.

    Raises ``ValueError`` if the counter would overflow (over 99,999 events within one
    millisecond of a stalled wall clock).
    """
    if local is None or now_ms > local.wall_ms:
        return Hlc(now_ms, 0, node)
    return Hlc(local.wall_ms, local.counter + 1, node)


def receive(local: Hlc | None, remote: Hlc, *, now_ms: int, node: str) -> Hlc:
    """The HLC after receiving ``remote``: later than both ``local`` and ``remote``.

    The receive rule of Kulkarni et al. (2014): the wall part is the largest of the local,
    remote and physical times, and the counter restarts at 0 only when the physical clock
    alone is ahead. Bound ``remote`` with :func:`bound_drift` first when it comes from a
    device. Raises ``ValueError`` if the counter would overflow.
    """
    local_wall = local.wall_ms if local is not None else -1
    local_counter = local.counter if local is not None else -1
    wall = max(local_wall, remote.wall_ms, now_ms)
    if wall == local_wall == remote.wall_ms:
        counter = max(local_counter, remote.counter) + 1
    elif wall == local_wall:
        counter = local_counter + 1
    elif wall == remote.wall_ms:
        counter = remote.counter + 1
    else:
        counter = 0
    return Hlc(wall, counter, node)
