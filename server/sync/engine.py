"""Apply a device's batch exactly once.

One transaction per batch: lock the device's progress row, answer replayed changes with
their stored outcomes (and their entities as they stand now), refuse a gap, resolve each
new change against the entity's current state (``rules.resolve``), write states, results,
quarantine and conflict entries, and move the device's ``last_seq`` — all or nothing. A
change that can never apply is rejected on its own, kept in the quarantine, and still
advances the sequence, so a queue never wedges.

Writes go through one fast path for the whole batch; if the database refuses it (a domain
table's constraint), the batch is redone one change at a time, each in a savepoint, so the
single offending change is quarantined and the rest apply.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from uuid import UUID

import asyncpg
import msgspec

from server import domain_metrics, events
from server.db.engine import connection
from server.errors import ClientError, ValidationFailed
from server.sync import authority, feed, registry, store
from server.sync.clock import bound_drift, fold, format_hlc, increment, merge, parse_hlc
from server.sync.errors import DeviceMismatch, SequenceGap, UpgradeRequired
from server.sync.protocol import (
    SUPPORTED_SCHEMA_VERSIONS,
    ChangeIn,
    ChangeResult,
    EntityState,
    PushRequest,
    PushResponse,
)
from server.sync.registry import DeviceContext
from server.sync.rules import Change, Decision, Rejected, Version, resolve
from server.sync.store import SERVER_ACTOR, Current, Key

log = logging.getLogger("fynlo.sync")

_WRITES = frozenset({"applied", "merged", "stale"})


@dataclass
class Outcome:
    """What one pass over some changes decided and must write."""

    results: list[ChangeResult] = field(default_factory=list)
    states: dict[Key, Current] = field(default_factory=dict)
    conflicts: list[tuple[ChangeIn, Current, Current, str]] = field(default_factory=list)
    quarantine: list[tuple[ChangeIn, str, str]] = field(default_factory=list)
    before: dict[Key, Current | None] = field(default_factory=dict)
    """Each entity the changes touched, as it was before the batch."""

    def add(self, other: Outcome) -> None:
        self.results += other.results
        self.states.update(other.states)
        self.conflicts += other.conflicts
        self.quarantine += other.quarantine
        for key, was in other.before.items():
            self.before.setdefault(key, was)


def check_versions(schema_version: int, app_version: str) -> None:
    if schema_version not in SUPPORTED_SCHEMA_VERSIONS:
        raise UpgradeRequired(
            f"schema version {schema_version} is not supported (this server speaks "
            f"{sorted(SUPPORTED_SCHEMA_VERSIONS)}); update the app from the App Store",
            field="schema_version",
            supported=sorted(SUPPORTED_SCHEMA_VERSIONS),
        )


async def push(*, device: DeviceContext, request: PushRequest) -> PushResponse:
    """Apply ``request`` for ``device`` exactly once and answer with every change's result.

    A push refused as a whole (a gap, an unsupported version) changes nothing, but the refusal
    is kept as the device's latest (``_record_refusal``) for the back office."""
    try:
        return await _push(device=device, request=request)
    except ClientError as refused:
        await _record_refusal(device, refused)
        raise


async def _record_refusal(device: DeviceContext, refused: ClientError) -> None:
    """Keep ``refused`` as the device's latest refused push, in a statement of its own after
    the batch's transaction rolled back. Best effort: the refusal is the answer that matters,
    so a database that cannot take the note leaves it unrecorded, logged."""
    try:
        async with connection() as conn:
            await conn.execute(
                "INSERT INTO sync_devices (device_id, restaurant_id, location_id, refused_code,"
                " refused_detail, refused_at) VALUES ($1, $2, $3, $4, $5, now())"
                " ON CONFLICT (device_id) DO UPDATE SET refused_code = excluded.refused_code,"
                " refused_detail = excluded.refused_detail, refused_at = excluded.refused_at",
                device.device_id,
                device.restaurant_id,
                device.location_id,
                refused.code,
                refused.detail[:500],
            )
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError):
        log.warning("could not record a refused push", extra={"code": refused.code})


async def _push(*, device: DeviceContext, request: PushRequest) -> PushResponse:
    if "\x00" in request.app_version:
        raise ValidationFailed("text must not contain NUL (\\u0000)", field="app_version")
    if request.device_id != device.device_id:
        raise DeviceMismatch("device_id is not the device this token was issued to")
    check_versions(request.schema_version, request.app_version)
    changes = sorted(request.changes, key=lambda change: change.seq)
    if len({change.seq for change in changes}) != len(changes):
        raise SequenceGap("a sequence number appears twice in the batch", field="changes")
    async with connection() as conn:
        async with events.collect(), conn.transaction():
            last_seq = await _lock_progress(conn, device)
            fresh = [change for change in changes if change.seq > last_seq]
            expected = last_seq + 1
            for offset, change in enumerate(fresh):
                if change.seq != expected + offset:
                    raise SequenceGap(
                        f"expected change {expected + offset} next, got {change.seq}",
                        field="changes",
                        expected_seq=expected + offset,
                    )
            outcome = Outcome()
            if fresh:
                last_seq = fresh[-1].seq
                await _record_progress(conn, device, request, last_seq)
                outcome = await _apply_in_lock_order(conn, device, request.batch_id, fresh)
            if any(result.outcome in _WRITES for result in outcome.results):
                await events.announce(
                    events.SyncPoke(
                        restaurant_id=str(device.restaurant_id),
                        location_id=str(device.location_id),
                    )
                )
        # Every change, replayed or new, is answered from its stored outcome and its entity as
        # it stands now (read back: jsonb orders keys its own way), so a batch resent with
        # nothing changed since gets the same answer byte for byte. Read once committed: the
        # locks are not held for it, and a replay reads the same way.
        results = await _stored_results(conn, device, changes)
    results.sort(key=lambda result: result.seq)
    domain_metrics.record_push(
        accepted=True,
        outcomes=[r.outcome for r in outcome.results] + ["duplicate"] * (len(changes) - len(fresh)),
        rules=[rule for *_, rule in outcome.conflicts],
    )
    return PushResponse(batch_id=request.batch_id, last_applied_seq=last_seq, results=results)


async def _record_progress(
    conn: asyncpg.Connection, device: DeviceContext, request: PushRequest, last_seq: int
) -> None:
    # The outbox figures ride on the same statement: telemetry costs no round trip.
    await conn.execute(
        "UPDATE sync_devices SET last_seq = $2, last_batch_id = $3, schema_version = $4,"
        " app_version = $5, last_push_at = now(), outbox_backlog = $6, oldest_unsent_at ="
        " CASE WHEN $6 > 0 THEN now() - $7::integer * interval '1 second' END"
        " WHERE device_id = $1",
        device.device_id,
        last_seq,
        request.batch_id,
        request.schema_version,
        request.app_version,
        request.outbox_backlog,
        request.oldest_unsent_age_seconds,
    )


async def _apply_in_lock_order(
    conn: asyncpg.Connection, device: DeviceContext, batch_id: UUID, changes: Sequence[ChangeIn]
) -> Outcome:
    """Apply the changes to entities one till mostly writes alone (its orders, their lines,
    its payments) first, and those every till writes (``contended``: table states, stock
    counts) last, just before the commit.

    A row written stays locked until the commit, whatever the statement, so the contended
    entities' locks are held only for their own few statements and the commit, not for the
    whole batch: batches sharing a stock counter queue for milliseconds, not for each
    other's projections. The two groups are locked in this order by every push, so two
    batches never wait on each other both ways. A contended type's rules must not depend on
    the other changes of its batch (they see only their own group)."""
    private = [c for c in changes if not _contended(c.entity_type)]
    shared = [c for c in changes if _contended(c.entity_type)]
    people = await _people(conn, device, changes)
    outcome = Outcome()
    for group in (private, shared):
        if group:
            outcome.add(await _apply_isolating_failures(conn, device, batch_id, group, people))
    return outcome


def _contended(entity_type: str) -> bool:
    entry = registry.registered(entity_type)
    return entry is not None and entry.contended


async def reapply(
    conn: asyncpg.Connection, *, device: DeviceContext, batch_id: UUID, change: ChangeIn
) -> ChangeResult:
    """Apply a quarantined ``change`` again, as ``device`` made it, once a manager has fixed
    what refused it (``server/sync/remedies.py``).

    Runs in the caller's transaction, inside ``events.collect()``. The device's progress row
    is locked as a push locks it, and the change takes the path of a fresh one: merge rules,
    domain checks, a savepoint of its own. Its result replaces the one stored for its
    sequence number; refused again, its quarantine row takes the new reason.
    Answers the stored result.
    """
    await _lock_progress(conn, device)
    await conn.execute(
        "DELETE FROM sync_results WHERE device_id = $1 AND seq = $2", device.device_id, change.seq
    )
    key = (change.entity_type, change.entity_id)
    current = (await store.lock(conn, device.restaurant_id, [key])).get(key)
    if current is not None:
        # The edit is made again now, on top of what the server holds: the server may have
        # put the entity back since (a refused ``paid`` is undone by a server write), and
        # against that the stored clock would only be answered stale. The fields it sets
        # take effect; the rest stay. (The actor's proof signs the fields, not the clock.)
        clock = increment(merge(current.version.clock, change.clock), str(device.device_id))
        change = msgspec.structs.replace(change, clock=clock)
    people = await _people(conn, device, [change])
    outcome = await _apply_isolating_failures(conn, device, batch_id, [change], people)
    if any(result.outcome in _WRITES for result in outcome.results):
        await events.announce(
            events.SyncPoke(
                restaurant_id=str(device.restaurant_id), location_id=str(device.location_id)
            )
        )
    [result] = await _stored_results(conn, device, [change])
    return result


async def _lock_progress(conn: asyncpg.Connection, device: DeviceContext) -> int:
    """The device's last applied sequence, its row locked until the batch commits (made on
    its first push: one statement on every later one)."""
    for _ in range(2):
        last: int | None = await conn.fetchval(
            "SELECT last_seq FROM sync_devices WHERE device_id = $1 FOR UPDATE", device.device_id
        )
        if last is not None:
            return last
        await conn.execute(
            "INSERT INTO sync_devices (device_id, restaurant_id, location_id) VALUES ($1, $2, $3)"
            " ON CONFLICT (device_id) DO NOTHING",
            device.device_id,
            device.restaurant_id,
            device.location_id,
        )
    raise AssertionError("sync_devices has no row for a device just given one")


async def _stored_results(
    conn: asyncpg.Connection, device: DeviceContext, changes: Sequence[ChangeIn]
) -> list[ChangeResult]:
    """The outcomes stored for ``changes`` (with their reason and detail, as first given),
    each with its entity as the server holds it now, or none if the device cannot see it."""
    rows = await conn.fetch(
        "SELECT result FROM sync_results WHERE device_id = $1 AND seq = ANY($2::bigint[])",
        device.device_id,
        [change.seq for change in changes],
    )
    results = [msgspec.json.decode(row["result"], type=ChangeResult) for row in rows]
    now = await feed.visible_states(
        conn, device, [(result.entity_type, result.entity_id) for result in results]
    )
    return [
        msgspec.structs.replace(result, state=now.get((result.entity_type, result.entity_id)))
        for result in results
    ]


async def _apply_isolating_failures(
    conn: asyncpg.Connection,
    device: DeviceContext,
    batch_id: UUID,
    changes: Sequence[ChangeIn],
    people: People,
) -> Outcome:
    # Domain work that must see the whole batch (settling a paid order) runs at its end.
    async with store.batch(conn):
        outcome = await _apply_each_if_refused(conn, device, batch_id, changes, people)
    async with store.batch(conn):
        await _refuse_after_the_batch(conn, device, batch_id, changes, outcome)
    return outcome


async def _refuse_after_the_batch(
    conn: asyncpg.Connection,
    device: DeviceContext,
    batch_id: UUID,
    changes: Sequence[ChangeIn],
    outcome: Outcome,
) -> None:
    """Run the domains' whole-batch checks; a change they refuse becomes a rejection."""
    applied_seqs = {result.seq for result in outcome.results if result.outcome in _WRITES}
    applied = [change for change in changes if change.seq in applied_seqs]
    refused: list[tuple[ChangeIn, str, str]] = []
    for entity_type in sorted({change.entity_type for change in applied}):
        entry = registry.registered(entity_type)
        if entry is None or entry.after is None:
            continue
        of_type = [change for change in applied if change.entity_type == entity_type]
        before = {
            entity_id: current.version if current else None
            for (kind, entity_id), current in outcome.before.items()
            if kind == entity_type
        }
        by_seq = {change.seq: change for change in of_type}
        for seq, reason, detail in await entry.after(conn, device, of_type, before):
            refused.append((by_seq[seq], reason, detail))
    if not refused:
        return
    for change, reason, detail in refused:
        for index, result in enumerate(outcome.results):
            if result.seq == change.seq:
                outcome.results[index] = _rejection(change, None, reason, detail)
    await conn.execute(
        "DELETE FROM sync_results WHERE device_id = $1 AND seq = ANY($2::bigint[])",
        device.device_id,
        [change.seq for change, _, _ in refused],
    )
    await _write_results(
        conn,
        device,
        batch_id,
        Outcome(
            results=[r for r in outcome.results if r.seq in {c.seq for c, _, _ in refused}],
            quarantine=refused,
        ),
    )


async def _apply_each_if_refused(
    conn: asyncpg.Connection,
    device: DeviceContext,
    batch_id: UUID,
    changes: Sequence[ChangeIn],
    people: People,
) -> Outcome:
    if not _changes_a_bill_it_closed(changes):
        try:
            # A savepoint: undone alone if the database refuses, with what it announced.
            with events.savepoint():
                async with conn.transaction():
                    return await _apply(conn, device, batch_id, changes, people)
        except Exception as exc:  # any refusal: find the change at fault, one at a time
            if _transient(exc):
                raise
            log.warning("batch refused; applying change by change", exc_info=True)
    merged = Outcome()
    for change in changes:
        try:
            with events.savepoint():
                async with conn.transaction():
                    single = await _apply(conn, device, batch_id, [change], people)
        except Exception as exc:
            # Deterministic: it would fail the same way on every retry, so it is quarantined
            # and the queue moves on. Only a transient failure answers 5xx (retry later).
            if _transient(exc):
                raise
            if not isinstance(exc, (asyncpg.PostgresError, registry.ProjectionRefused)):
                log.error("a change could not be applied", exc_info=True)
            single = Outcome()
            reason, detail = _refusal(exc)
            # The server's state comes back, so the device puts its refused edit right.
            key = (change.entity_type, change.entity_id)
            current = (await store.lock(conn, device.restaurant_id, [key])).get(key)
            if current is not None and current.location_id not in (None, device.location_id):
                current = None  # another location's entity: show nothing of it
            single.results.append(_rejection(change, current, reason, detail))
            single.quarantine.append((change, reason, detail))
            await _write_results(conn, device, batch_id, single)
        merged.results += single.results
        for key, was in single.before.items():
            merged.before.setdefault(key, was)
    return merged


_CLOSED = ("paid", "voided")


def _changes_a_bill_it_closed(changes: Sequence[ChangeIn]) -> bool:
    """Whether a line change follows, in this batch, the change that closed its order.

    Written whole, the batch's lines would be priced in with the order they came with (a
    till that rang up and took payment offline), so a line added after the bill was paid
    would slip into it. Change by change, it is refused ``order_closed``, exactly as it is
    when the payment came in an earlier batch (docs/sync-protocol.md)."""
    closed_at: dict[str, int] = {}
    for change in changes:
        if change.entity_type == "order" and change.fields.get("status") in _CLOSED:
            closed_at.setdefault(str(change.entity_id), change.seq)
        elif change.entity_type == "order_line" and closed_at:
            # A line's update may leave out its order: any line after a close, then.
            order_id = change.fields.get("order_id")
            if order_id is None or str(order_id) in closed_at:
                return True
    return False


async def _apply(
    conn: asyncpg.Connection,
    device: DeviceContext,
    batch_id: UUID,
    changes: Sequence[ChangeIn],
    people: People,
) -> Outcome:
    outcome = Outcome()
    currents = await store.lock(
        conn, device.restaurant_id, [(c.entity_type, c.entity_id) for c in changes]
    )
    outcome.before = {
        (c.entity_type, c.entity_id): currents.get((c.entity_type, c.entity_id)) for c in changes
    }
    facts = await _prepare(conn, device, changes)
    now_ms = int(time.time() * 1000)
    for change in changes:
        key = (change.entity_type, change.entity_id)
        current = outcome.states.get(key) or currents.get(key)
        known = Known(
            staff=people.staff, facts=facts.get(change.entity_type), retired=people.retired
        )
        result = _decide(change, current, device, known, now_ms, outcome)
        outcome.results.append(result)
    await _write_states(conn, device, outcome)
    await _write_results(conn, device, batch_id, outcome)
    return outcome


@dataclass(frozen=True)
class People:
    """Who a batch names, read once per batch and before any entity is locked: the
    employees its changes name, and the revoked devices folded out of clocks."""

    staff: dict[UUID, authority.Staff]
    retired: frozenset[str]


async def _people(
    conn: asyncpg.Connection, device: DeviceContext, changes: Sequence[ChangeIn]
) -> People:
    return People(
        staff=await authority.load_staff(conn, device.restaurant_id, changes),
        retired=await _retired_actors(conn, device.restaurant_id),
    )


@dataclass(frozen=True)
class Known:
    """What the batch read before deciding: the employees it names, what each type's
    ``prepare`` found, and the retired actors folded out of clocks."""

    staff: dict[UUID, authority.Staff]
    facts: object
    retired: frozenset[str]


async def _prepare(
    conn: asyncpg.Connection, device: DeviceContext, changes: Sequence[ChangeIn]
) -> dict[str, object]:
    facts: dict[str, object] = {}
    read: dict[registry.Prepare, object] = {}  # orders and lines share one reading
    for entity_type in sorted({change.entity_type for change in changes}):
        entry = registry.registered(entity_type)
        if entry is not None and entry.spec.pushable and entry.prepare is not None:
            if entry.prepare not in read:
                read[entry.prepare] = await entry.prepare(conn, device, changes)
            facts[entity_type] = read[entry.prepare]
    return facts


def _decide(
    change: ChangeIn,
    current: Current | None,
    device: DeviceContext,
    known: Known,
    now_ms: int,
    outcome: Outcome,
) -> ChangeResult:
    entry = registry.registered(change.entity_type)
    if entry is None:
        return _reject(
            outcome, change, current, "unknown_entity_type", "this server does not sync it"
        )
    if not entry.spec.pushable:
        return _reject(outcome, change, current, "read_only", "only the back office changes it")
    location_id = device.location_id if entry.spec.scope == "location" else None
    if current is not None and current.location_id != location_id:
        # No state in the answer: this iPad must not see another location's entity.
        return _reject(outcome, change, None, "wrong_location", "it belongs to another location")
    if _holds_nul(change.fields):
        # PostgreSQL text cannot hold NUL: refused here, alone, never the whole batch.
        return _reject(outcome, change, current, "invalid_fields", "text must not contain NUL")
    try:
        hlc, _clamped = bound_drift(parse_hlc(change.hlc), now_ms=now_ms)
    except ValueError:
        return _reject(outcome, change, current, "bad_hlc", "hlc is not a hybrid logical clock")
    incoming = Change(
        op=change.op,
        fields=change.fields,
        clock=change.clock,
        hlc=format_hlc(hlc),
        device=str(device.device_id),
    )
    corrected: list[str] = []
    try:
        who = authority.of(device, change, known.staff)
        if entry.validate is not None:
            entry.validate(incoming, current.version if current else None, device)
        admission = entry.admit(change, current.version if current else None, known.facts)
        authority.require(who, admission.needs)
        for correction in admission.corrections:
            if correction.unless is None or not who.holds(correction.unless):
                incoming = msgspec.structs.replace(
                    incoming, fields={**incoming.fields, **correction.fields}
                )
                corrected.append(correction.rule)
    except Rejected as exc:
        return _reject(outcome, change, current, exc.code, exc.detail)
    decision: Decision = resolve(
        entry.spec, current.version if current else None, incoming, server_actor=SERVER_ACTOR
    )
    if decision.outcome == "rejected" or decision.version is None:
        return _reject(
            outcome, change, current, decision.reason or "rejected", decision.detail or ""
        )
    version = decision.version
    if known.retired:
        version = msgspec.structs.replace(version, clock=fold(version.clock, known.retired))
    if decision.clock_oversized:
        log.warning(
            "vector clock over the size cap",
            extra={
                "alert": "sync_clock_oversized",
                "entity": f"{change.entity_type}/{change.entity_id}",
            },
        )
    after = Current(location_id, version)
    if decision.outcome in _WRITES and (current is None or version != current.version):
        outcome.states[(change.entity_type, change.entity_id)] = after
    if decision.outcome == "merged" and current is not None:
        outcome.conflicts.append((change, current, after, decision.rule or "merge"))
    for rule in corrected:  # the server changed what the device sent: a manager sees it
        claimed = Version(data=change.fields, clock=change.clock, field_hlcs={})
        outcome.conflicts.append((change, Current(location_id, claimed), after, rule))
    return ChangeResult(
        seq=change.seq,
        entity_type=change.entity_type,
        entity_id=change.entity_id,
        outcome=decision.outcome,
        state=_state(change.entity_type, change.entity_id, after),
    )


def _storable(change_json: str) -> str:
    """The change as jsonb can hold it: a NUL (which jsonb refuses) kept visible as U+FFFD.

    A change refused for another reason before its text was checked (a read-only type, say)
    may still carry one, and a quarantined change must be kept, never fail the push.
    """
    if "\\u0000" not in change_json:
        return change_json
    return msgspec.json.encode(_without_nul(msgspec.json.decode(change_json))).decode()


def _without_nul(value: object) -> object:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    return value


def _holds_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def _reject(
    outcome: Outcome, change: ChangeIn, current: Current | None, reason: str, detail: str
) -> ChangeResult:
    outcome.quarantine.append((change, reason, detail))
    return _rejection(change, current, reason, detail)


def _rejection(change: ChangeIn, current: Current | None, reason: str, detail: str) -> ChangeResult:
    return ChangeResult(
        seq=change.seq,
        entity_type=change.entity_type,
        entity_id=change.entity_id,
        outcome="rejected",
        state=_state(change.entity_type, change.entity_id, current) if current else None,
        reason=reason,
        detail=detail,
    )


def _state(entity_type: str, entity_id: UUID, current: Current) -> EntityState:
    return EntityState(
        entity_type=entity_type,
        entity_id=entity_id,
        location_id=current.location_id,
        data=current.version.data,
        clock=current.version.clock,
        deleted=current.version.deleted,
        hlc=max(current.version.field_hlcs.values(), default=None),
    )


async def _retired_actors(conn: asyncpg.Connection, restaurant_id: UUID) -> frozenset[str]:
    """Revoked devices never write again, so their clock entries can be folded away."""
    rows = await conn.fetch(
        "SELECT id::text AS id FROM devices WHERE restaurant_id = $1 AND revoked_at IS NOT NULL",
        restaurant_id,
    )
    return frozenset(row["id"] for row in rows)


async def _write_states(conn: asyncpg.Connection, device: DeviceContext, outcome: Outcome) -> None:
    if outcome.states:
        await store.write(
            conn,
            device.restaurant_id,
            [
                (entity_type, entity_id, current)
                for (entity_type, entity_id), current in outcome.states.items()
            ],
        )
    for change, _, after, rule in outcome.conflicts:
        await events.announce(
            events.ConflictLogged(
                restaurant_id=str(device.restaurant_id),
                location_id=None if after.location_id is None else str(after.location_id),
                entity_type=change.entity_type,
                entity_id=str(change.entity_id),
                rule=rule,
            )
        )
    if outcome.conflicts:
        conflicts = outcome.conflicts
        await conn.execute(
            "INSERT INTO sync_conflicts (restaurant_id, location_id, entity_type, entity_id,"
            " device_id, rule, current, incoming, outcome) SELECT $1, location_id, kind, id, $2,"
            " rule, current::jsonb, incoming::jsonb, outcome::jsonb FROM unnest($3::uuid[],"
            " $4::text[], $5::uuid[], $6::text[], $7::text[], $8::text[], $9::text[])"
            " AS logged (location_id, kind, id, rule, current, incoming, outcome)",
            device.restaurant_id,
            device.device_id,
            [after.location_id for _, _, after, _ in conflicts],
            [change.entity_type for change, _, _, _ in conflicts],
            [change.entity_id for change, _, _, _ in conflicts],
            [rule for _, _, _, rule in conflicts],
            [store.state_json(before.version) for _, before, _, _ in conflicts],
            [
                json.dumps({"fields": c.fields, "clock": c.clock, "hlc": c.hlc, "op": c.op})
                for c, _, _, _ in conflicts
            ],
            [store.state_json(after.version) for _, _, after, _ in conflicts],
        )


async def _write_results(
    conn: asyncpg.Connection, device: DeviceContext, batch_id: UUID, outcome: Outcome
) -> None:
    await conn.execute(
        "INSERT INTO sync_results (device_id, seq, batch_id, result)"
        " SELECT $1, seq, $2, result::jsonb FROM unnest($3::bigint[], $4::text[])"
        " AS results (seq, result)",
        device.device_id,
        batch_id,
        [result.seq for result in outcome.results],
        [msgspec.json.encode(result).decode() for result in outcome.results],
    )
    if outcome.quarantine:
        await conn.executemany(
            "INSERT INTO sync_quarantine (restaurant_id, location_id, device_id, batch_id, seq,"
            " change, reason, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            # A retried change refused again (``reapply``) keeps its row with the new reason.
            " ON CONFLICT (device_id, seq) DO UPDATE SET reason = excluded.reason,"
            " detail = excluded.detail",
            [
                (
                    device.restaurant_id,
                    device.location_id,
                    device.device_id,
                    batch_id,
                    change.seq,
                    _storable(msgspec.json.encode(change).decode()),
                    reason,
                    detail,
                )
                for change, reason, detail in outcome.quarantine
            ],
        )


# SQLSTATE classes worth retrying whole: the same batch may well apply next time (a deadlock
# or serialization victim, a lock or statement timeout, a server going down). Quarantining
# such a change would drop a valid write. https://www.postgresql.org/docs/current/errcodes-appendix.html
_TRANSIENT_CLASSES = frozenset({"08", "40", "53", "57", "58"})
_TRANSIENT_STATES = frozenset({"55P03"})  # lock_not_available


def _transient(exc: Exception) -> bool:
    """A failure a retry may not meet: the database or the link to it, not the change."""
    if isinstance(exc, (asyncpg.InterfaceError, OSError)):
        return True  # the connection is gone or timed out
    if not isinstance(exc, asyncpg.PostgresError):
        return False
    state: str = getattr(exc, "sqlstate", None) or ""
    return state[:2] in _TRANSIENT_CLASSES or state in _TRANSIENT_STATES


def _refusal(exc: Exception) -> tuple[str, str]:
    if isinstance(exc, registry.ProjectionRefused):
        return exc.reason, exc.detail
    if isinstance(exc, asyncpg.PostgresError):
        return "database_refused", _database_detail(exc)
    # Our own code failed on it (a bug, or a value no check caught): kept for a manager and
    # for us; the log line above has the details.
    return "unprocessable", f"the server could not apply it ({type(exc).__name__})"


def _database_detail(exc: asyncpg.PostgresError) -> str:
    # The constraint's name says what was wrong without leaking other rows' values; a missing
    # reference (`orders_table_id_fkey`) is said as what a manager would look for.
    constraint = getattr(exc, "constraint_name", None) or type(exc).__name__
    table = getattr(exc, "table_name", None)
    suffix = "_id_fkey"
    if table and constraint.startswith(f"{table}_") and constraint.endswith(suffix):
        thing = constraint[len(table) + 1 : -len(suffix)].replace("_", " ")
        return f"it names a {thing} the server does not have ({constraint})"
    return f"refused by the database ({constraint})"
