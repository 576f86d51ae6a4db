"""What can be synced: each domain registers its entity types here with their merge spec,
their bootstrap tier, and how a synced state is written into the domain's own tables.

The sync core never imports a domain; domains import this module and register themselves
(see ``server/sync/entities.py`` for the list the app loads).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

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
    validate: Validate | None = None
    project: Project | None = None


_REGISTRY: dict[str, Registered] = {}


def register(
    spec: EntitySpec,
    *,
    tier: int | Tier,
    validate: Validate | None = None,
    project: Project | None = None,
) -> None:
    """Make ``spec.entity_type`` syncable (once; registering twice is a programming error)."""
    if spec.entity_type in _REGISTRY:
        raise ValueError(f"{spec.entity_type} is already registered")
    tier_of = tier if callable(tier) else _constant(tier)
    _REGISTRY[spec.entity_type] = Registered(spec, tier_of, validate, project)


def registered(entity_type: str) -> Registered | None:
    return _REGISTRY.get(entity_type)


def entity_types() -> list[str]:
    return sorted(_REGISTRY)


def _constant(value: int) -> Tier:
    return lambda _data: value
