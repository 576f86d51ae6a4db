"""What can be synced: each domain registers its entity types here with their merge spec,
their bootstrap tier, and how a synced state is written into the domain's own tables.

The sync core never imports a domain; domains import this module and register themselves
(see ``server/sync/entities.py`` for the list the app loads).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg

from server.auth.permissions import Permission
from server.sync.rules import Change, EntitySpec, Version


@dataclass(frozen=True)
class DeviceContext:
    """The enrolled iPad pushing or pulling, from its verified token."""

    device_id: UUID
    restaurant_id: UUID
    location_id: UUID
    prefix: str


@dataclass(frozen=True)
class Written:
    """An entity state the engine has just stored, handed to the domain's projection."""

    entity_id: UUID
    location_id: UUID | None
    version: Version


class ProjectionRefused(Exception):
    """Raised by a projection when a state cannot enter the domain's tables (a payment for an
    order the server does not have). The change is quarantined with ``reason``: kept and
    shown to a manager, never dropped."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class FieldRule:
    """Who may set one field of a pushed entity: ``needs`` always, plus ``when[condition]``
    when the domain finds that condition (a status value, a discount over the threshold).
    Every field of every pushable type has one, so a new field is closed until decided."""

    needs: Permission
    when: Mapping[str, Permission] = field(default_factory=dict)


def needs_of(
    rules: Mapping[str, FieldRule],
    fields: Iterable[str],
    conditions: Iterable[tuple[str, str]] = (),
) -> frozenset[Permission]:
    """The permissions setting ``fields`` needs, with the ``(field, condition)`` pairs met."""
    needed = {rules[name].needs for name in fields if name in rules}
    needed |= {rules[name].when[condition] for name, condition in conditions}
    return frozenset(needed)


@dataclass(frozen=True)
class Correction:
    """Fields the server sets in place of the device's (a line's price from the catalog),
    unless the change's authority holds ``unless``. Logged as a conflict with ``rule``."""

    fields: dict[str, Any]
    rule: str
    unless: Permission | None = None


@dataclass(frozen=True)
class Admission:
    """What a change needs to be applied: permissions its maker must hold (alone, or with a
    manager's approval), and corrections the server makes to it."""

    needs: frozenset[Permission]
    corrections: tuple[Correction, ...] = ()


Prepare = Callable[[asyncpg.Connection, DeviceContext, Sequence[Any]], Awaitable[Any]]
"""Read, once per batch, what ``admit`` needs to know (prices, parent orders); it gets every
change of the batch (``protocol.ChangeIn``), since one type's rule may hang on another's."""

Admit = Callable[[Any, "Version | None", Any], Admission]
"""What one change (``protocol.ChangeIn``) needs, given its entity's current version and
what ``prepare`` read. Raise ``rules.Rejected`` to refuse it."""

After = Callable[
    [asyncpg.Connection, DeviceContext, Sequence[Any], Mapping[UUID, "Version | None"]],
    Awaitable[list[tuple[int, str, str]]],
]
"""Checks that need the whole batch written (money that must cover a ``paid`` order): given
the batch's applied changes of the type (``protocol.ChangeIn``) and each entity's version
before the batch, put the entity right with ``store.server_change`` and return ``(seq,
reason, detail)`` for each change refused after all; the engine turns its answer into a
rejection and keeps the change in the quarantine."""

Validate = Callable[[Change, Version | None, DeviceContext], None]
"""Domain checks beyond the merge spec; raise ``rules.Rejected`` to refuse a change."""

Project = Callable[[asyncpg.Connection, UUID, Sequence[Written]], Awaitable[None]]
"""Write synced states into the domain's tables, in the push's transaction."""

Tier = Callable[[dict[str, Any]], int]
"""Bootstrap priority of a state: 0 first (menu, floor), then open orders, then history."""


@dataclass(frozen=True)
class Registered:
    spec: EntitySpec
    tier: Tier
    admit: Admit
    validate: Validate | None = None
    project: Project | None = None
    prepare: Prepare | None = None
    fields: Mapping[str, FieldRule] = field(default_factory=dict)
    after: After | None = None
    contended: bool = False
    """Every till at a location writes the same few entities of this type (table states,
    stock counts): a push applies them after the rest of its batch, so their locks are held
    only until the commit that follows (``engine._apply_in_lock_order``)."""
    projects_after: tuple[str, ...] = ()
    """Types whose projections must run before this one's in a write (a payment settles an
    order whose lines are already priced)."""


_REGISTRY: dict[str, Registered] = {}


def register(
    spec: EntitySpec,
    *,
    tier: int | Tier,
    admit: Admit | None = None,
    validate: Validate | None = None,
    project: Project | None = None,
    prepare: Prepare | None = None,
    fields: Mapping[str, FieldRule] | None = None,
    after: After | None = None,
    contended: bool = False,
    projects_after: tuple[str, ...] = (),
) -> None:
    """Make ``spec.entity_type`` syncable (once; registering twice is a programming error).

    A pushable type must say what its changes need (``admit``): nothing is allowed by
    default. A read-only type is refused before admission."""
    if spec.entity_type in _REGISTRY:
        raise ValueError(f"{spec.entity_type} is already registered")
    if spec.pushable and (admit is None or not fields):
        raise ValueError(f"{spec.entity_type} is pushable: say who may set each field")
    tier_of = tier if callable(tier) else _constant(tier)
    _REGISTRY[spec.entity_type] = Registered(
        spec,
        tier_of,
        admit or _read_only,
        validate,
        project,
        prepare,
        fields or {},
        after,
        contended,
        projects_after,
    )


def registered(entity_type: str) -> Registered | None:
    return _REGISTRY.get(entity_type)


def entity_types() -> list[str]:
    return sorted(_REGISTRY)


def entity_types_in_order() -> list[str]:
    """Every type in the order it was registered (a domain registers parents first), each
    moved after the types it ``projects_after``: the order never depends on which domain
    module happened to be imported first."""
    ordered: list[str] = []

    def place(entity_type: str) -> None:
        if entity_type in ordered or entity_type not in _REGISTRY:
            return
        for earlier in _REGISTRY[entity_type].projects_after:
            place(earlier)
        ordered.append(entity_type)

    for entity_type in _REGISTRY:
        place(entity_type)
    return ordered


def always(permission: Permission) -> Admit:
    """An ``admit`` for a type whose every change needs ``permission`` and nothing more."""
    admission = Admission(frozenset({permission}))
    return lambda _change, _current, _facts: admission


def _read_only(_change: Change, _current: Version | None, _facts: Any) -> Admission:
    raise AssertionError("read-only types are refused before admission")


def _constant(value: int) -> Tier:
    return lambda _data: value
