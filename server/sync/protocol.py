"""The sync wire format (``docs/sync-protocol.md``); JSON Schemas in ``shared/schema/sync/``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from msgspec import Meta, field

from server.wire import Input, Wire

SCHEMA_VERSION = 1
"""The wire schema this server speaks. Additive changes keep the number."""

SUPPORTED_SCHEMA_VERSIONS = frozenset({1})
MAX_CHANGES_PER_BATCH = 500
PULL_LIMIT_DEFAULT = 500
PULL_LIMIT_MAX = 2000

Seq = Annotated[int, Meta(ge=1, le=2**53)]
EntityType = Annotated[str, Meta(min_length=1, max_length=40, pattern=r"^[a-z_]+$")]
Hlc = Annotated[str, Meta(min_length=1, max_length=120)]
Clock = Annotated[dict[str, Annotated[int, Meta(ge=0)]], Meta(max_length=256)]
Outcome = Literal["applied", "merged", "stale", "duplicate", "rejected"]


Proof = Annotated[str, Meta(pattern=r"^[0-9a-f]{64}$")]
"""Hex HMAC-SHA256 over the change's statement (``docs/security.md``)."""


class ActorProof(Input, kw_only=True):
    """Who made the change: the employee signed in on the iPad, by PIN, online or not."""

    employee_id: UUID
    proof: Proof


class ApprovalProof(Input, kw_only=True):
    """A manager's approval, given by PIN on the iPad, for the one permission the change
    needs beyond its maker's role (a void, a large discount, a price override)."""

    approver_id: UUID
    permission: Annotated[str, Meta(min_length=1, max_length=60)]
    proof: Proof


class ChangeIn(Input, kw_only=True):
    """One change a device made, in the order it made them."""

    seq: Seq
    """The device's own counter: 1, 2, 3, ... with no gaps, across batches and restarts."""
    entity_type: EntityType
    entity_id: UUID
    op: Literal["upsert", "delete"]
    fields: dict[str, Any] = field(default_factory=dict)
    """For an upsert, the fields this change set (counters: the amount to add)."""
    clock: Clock
    """The entity's vector clock after this change on the device."""
    hlc: Hlc
    """The device's hybrid logical clock when it made the change."""
    actor: ActorProof | None = None
    """Who made it; absent when nobody was signed in (the iPad acts alone, with the least
    rights: ``docs/sync-protocol.md``, "Who may change what")."""
    approval: ApprovalProof | None = None


class PushRequest(Input, kw_only=True):
    batch_id: UUID
    """Chosen by the device; a retried batch keeps its id and its changes."""
    device_id: UUID
    schema_version: int
    app_version: Annotated[str, Meta(min_length=1, max_length=40)]
    changes: Annotated[list[ChangeIn], Meta(min_length=1, max_length=MAX_CHANGES_PER_BATCH)]
    outbox_backlog: Annotated[int, Meta(ge=0, le=10_000_000)] | None = None
    """How many changes wait in the device's outbox behind this batch (not counting its own),
    for the back office's device status. Optional: older apps omit it."""
    oldest_unsent_age_seconds: Annotated[int, Meta(ge=0, le=366 * 24 * 3600)] | None = None
    """How long ago, by the device's own clock, the oldest of those changes was made. An age
    rather than an instant, so a device clock that is wrong does not matter: the server dates
    it by its own clock on arrival. Ignored when ``outbox_backlog`` is absent or 0."""


class EntityState(Wire, kw_only=True):
    """An entity as the server holds it."""

    entity_type: str
    entity_id: UUID
    location_id: UUID | None
    data: dict[str, Any]
    clock: dict[str, int]
    deleted: bool
    hlc: str | None = None
    """The newest HLC among the writes that made this state; a device passes it to its
    HLC's ``receive`` so its next writes order after everything it has seen."""


class ChangeResult(Wire, kw_only=True):
    seq: int
    entity_type: str
    entity_id: UUID
    outcome: Outcome
    """applied, merged (a concurrent change was merged; see the conflict log), stale (already
    incorporated), duplicate, or rejected (kept in the quarantine, see ``reason``)."""
    state: EntityState | None
    """The entity as the server holds it when answering: after the whole batch, or, for a
    resent batch, as it is now (the outcome, reason and detail stay those first given).
    ``None`` if it does not exist or is another location's. The device replaces its copy
    with it."""
    reason: str | None = None
    detail: str | None = None


class PushResponse(Wire, kw_only=True):
    batch_id: UUID
    last_applied_seq: int
    """The device's highest seq the server has applied (at least the batch's last): every
    change up to it is in, answered here or in an earlier answer. Drop the outbox up to it."""
    results: list[ChangeResult]


class DismissedChange(Wire, kw_only=True):
    """One of the pulling device's own quarantined changes that a manager dismissed."""

    seq: int
    reason: str
    """The manager's words: why it will never apply."""
    at: datetime


class PullResponse(Wire, kw_only=True):
    changes: list[EntityState]
    cursor: str
    """Opaque; send it back as ``cursor`` to continue."""
    has_more: bool
    phase: Literal["snapshot", "feed"]
    """snapshot while a new device is bootstrapping, then feed."""
    last_applied_seq: int
    """How far the pull has acknowledged this device's own changes: for every change up to
    it, the entity's current state is in this page or an earlier one of the same pull (or
    the device cannot see the entity). Drop the outbox up to it, never further."""
    schema_version: int = SCHEMA_VERSION
    dismissed: list[DismissedChange] = field(default_factory=list)
    """This device's rejected changes a manager dismissed since the cursor sent (all of them
    for an empty cursor), each once per cursor: drop them from the outbox and from what the
    app shows as refused. Older clients ignore it."""
