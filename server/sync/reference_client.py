"""The Python reference device: a simulated iPad that speaks the sync protocol.

Tests and benchmarks drive it, and it doubles as the executable description of what an iPad
must do. It is transport-agnostic: it is given ``send(method, path, *, json=None,
params=None) -> (status, body)``, an async callable that returns the HTTP status and the
decoded JSON body, or raises ``ConnectionError`` / ``TimeoutError`` (both ``OSError``) when
the request or its answer was lost. A lost answer is the hard case: the server may or may
not have applied the push, and the protocol makes that not matter.

What the device keeps (all of it in :meth:`ReferenceDevice.state`, a plain JSON-able dict,
so a "restart" is ``ReferenceDevice.restore(send, device.state())``):

- ``confirmed``: the server's state of every entity the device knows, as last pulled or
  acknowledged: ``"type/id" -> {data, clock, deleted}``.
- ``outbox``: the changes made on the device that the server has not yet confirmed, each
  with its ``seq``: 1, 2, 3, ... with no gaps, across batches and restarts.
- ``batch``: the frozen batch in flight: an id and the seqs it carries. Until the server
  acknowledges it, every push resends exactly that batch, same id, same changes, so a
  retry after a lost answer is recognised as a replay and applied once.
- ``cursor``: where the next pull continues; ``None`` starts over with a snapshot (and
  ``bootstrap`` collects what the snapshot mentions until it is read to the end).
- ``hlc``: the device's hybrid logical clock (:func:`server.sync.clock.tick`), stamped on
  every change so concurrent writes settle last-writer-wins without trusting one wall
  clock. Every state the server sends carries the newest HLC that wrote it, which
  :meth:`observe_hlc` (:func:`server.sync.clock.receive`) folds in, so the device's next
  writes order after everything it has seen even if its wall clock is behind.

What the device shows is ``store``: ``confirmed`` with the outbox replayed on top (a rebase,
as Replicache does): a pulled state never hides a local change the server has not
confirmed yet, and counters (``remaining``) show the pulled total plus the local deltas.

Each entity carries a vector clock. A local edit takes the clock the device shows for the
entity and increments the device's own entry (its id), so a change that has seen a state
"happens after" it and a change made without seeing it is "concurrent" (merged on the
server and logged as a conflict). Changes keep the clock they were made with, even when a
pull rebases them: what the person saw when they tapped is what the clock says.

The rules of the protocol, in the order the device meets them:

1. ``push`` sends the frozen batch (freezing the first ``batch_size`` outbox changes if none
   is in flight). On 200 the answer's ``last_applied_seq`` acknowledges every change up to
   it: they leave the outbox, and each result's ``state`` becomes the confirmed state
   (rejected changes come back with the server's state, or none if the entity does not
   exist there, so a refused local edit disappears from ``store``).
2. A 409 ``sequence_gap`` with ``expected_seq`` below the batch means the server lost
   changes it had acknowledged (a restore from backup): the device cannot resend those, so
   it renumbers its pending changes from ``expected_seq`` and freezes a new batch.
3. A lost answer (``OSError``), a 5xx or a 429 is transient: keep the batch, retry later.
   Any other refusal (401 revoked, 403, 426 upgrade) is raised as :class:`SyncRefused`.
4. ``pull`` pages until ``has_more`` is false, replacing confirmed states in feed order,
   then drops outbox changes up to the pull's ``last_applied_seq``: the pulled states have
   their effects (this also acknowledges a batch whose answer was lost). A deletion stays
   in ``confirmed`` as a tombstone (``deleted``, with its clock), so a later write on the
   same id (a table's state) carries a clock that has seen the deletion.
5. A pull from an empty cursor starts with a snapshot: every entity, tombstones included
   with their clocks, except tombstones ``fynlo sync gc`` has removed. So once it (and the
   feed after it) has been read to the end, every confirmed entity it did not mention is
   dropped: it is gone from the server, and a write on its id makes a new entity.
6. A 410 ``resync_required`` (offline longer than deletions are kept) restarts the pull from
   an empty cursor, as in 5; the outbox is kept and pushed as usual.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID, uuid4

from server.auth import offline
from server.sync import registry
from server.sync.clock import Hlc, compare, format_hlc, increment, merge, parse_hlc, receive, tick
from server.sync.clock import Ordering as ClockOrdering
from server.sync.protocol import SCHEMA_VERSION

log = logging.getLogger("fynlo.sync.reference_client")

PUSH_PATH = "/api/v1/sync/push"
PULL_PATH = "/api/v1/sync/pull"
MAX_PULL_PAGES = 10_000
"""A pull that has not finished after this many pages is a server bug, not a long backlog."""


class Send(Protocol):
    """The transport: one HTTP exchange, answered with (status, decoded JSON body)."""

    def __call__(
        self,
        method: str,
        path: str,
        *,
        json: Any | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Awaitable[tuple[int, Any]]: ...


class SyncRefused(Exception):
    """The server refused a push or pull for good; retrying it unchanged will not help."""

    def __init__(self, status: int, body: Any) -> None:
        code = body.get("code") if isinstance(body, dict) else None
        super().__init__(f"{status} {code}: {body!r}")
        self.status = status
        self.code = code
        self.body = body


@dataclass
class Entity:
    """One entity as the device holds it."""

    data: dict[str, Any]
    clock: dict[str, int]
    deleted: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"data": self.data, "clock": self.clock, "deleted": self.deleted}


@dataclass
class PendingChange:
    """A change made on the device, waiting in the outbox."""

    seq: int
    entity_type: str
    entity_id: str
    op: str
    fields: dict[str, Any]
    clock: dict[str, int]
    hlc: str
    actor: dict[str, str] | None = None
    """Who made it, signed when it was made (``server.auth.offline``), if anyone was in."""

    @property
    def key(self) -> str:
        return entity_key(self.entity_type, self.entity_id)

    def wire(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "entity_type": self.entity_type,
            "entity_id": self.entity_id,
            "op": self.op,
            "fields": self.fields,
            "clock": self.clock,
            "hlc": self.hlc,
        } | ({} if self.actor is None else {"actor": self.actor})


@dataclass
class Batch:
    """The batch in flight: resent unchanged, same id, until acknowledged."""

    batch_id: str
    seqs: list[int]


@dataclass
class SyncStats:
    """What the device has done, for tests and benchmarks (not persisted)."""

    pushes: int = 0
    pulls: int = 0
    lost: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)


def entity_key(entity_type: str, entity_id: str | UUID) -> str:
    return f"{entity_type}/{entity_id}"


class ReferenceDevice:
    """A simulated iPad: local store, durable outbox, clocks and cursor (see the module)."""

    def __init__(
        self,
        send: Send,
        *,
        device_id: UUID | str,
        prefix: str,
        app_version: str = "1.0.0",
        schema_version: int = SCHEMA_VERSION,
        batch_size: int = 100,
        pull_limit: int = 500,
        counters: Mapping[str, Collection[str]] | None = None,
        now_ms: Callable[[], int] | None = None,
        new_id: Callable[[], UUID] = uuid4,
    ) -> None:
        """Args:
        send: the transport (see :class:`Send`).
        device_id: the server-issued device id; also this device's clock actor and HLC node.
        prefix: the device's order-number prefix (``A`` numbers its orders ``A-0001``, ...).
        counters: counter fields per entity type; by default read from the sync registry.
        now_ms: the wall clock in milliseconds (inject a fake one for seeded runs).
        new_id: where batch ids come from (inject a seeded source for replayable runs).
        """
        self.send = send
        self.device_id = str(device_id)
        self.prefix = prefix
        self.app_version = app_version
        self.schema_version = schema_version
        self.batch_size = batch_size
        self.pull_limit = pull_limit
        self.now_ms = now_ms or (lambda: int(time.time() * 1000))
        self.new_id = new_id
        self._counters = counters
        self.online = True
        self.confirmed: dict[str, Entity] = {}
        self.store: dict[str, Entity] = {}
        self.outbox: list[PendingChange] = []
        self.batch: Batch | None = None
        self.cursor: str | None = None
        self.bootstrap: set[str] | None = None
        """While pulling from an empty cursor: the keys the snapshot (and feed) mentioned."""
        self.hlc: Hlc | None = None
        self.next_seq = 1
        self.orders_opened = 0
        self.stats = SyncStats()
        self.signed_in: offline.SignedIn | None = None
        """The employee signed in by PIN, whose proof each new change carries."""

    # Persistence -----------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Everything that must survive an app restart, as plain JSON-able values."""
        return copy.deepcopy(
            {
                "device_id": self.device_id,
                "prefix": self.prefix,
                "confirmed": {key: entity.as_dict() for key, entity in self.confirmed.items()},
                "outbox": [change.__dict__ for change in self.outbox],
                "batch": None if self.batch is None else self.batch.__dict__,
                "cursor": self.cursor,
                "bootstrap": None if self.bootstrap is None else sorted(self.bootstrap),
                "hlc": None if self.hlc is None else format_hlc(self.hlc),
                "next_seq": self.next_seq,
                "orders_opened": self.orders_opened,
                "online": self.online,
            }
        )

    @classmethod
    def restore(cls, send: Send, state: Mapping[str, Any], **options: Any) -> ReferenceDevice:
        """The device as it was when ``state`` was taken (``options`` as for the constructor)."""
        state = copy.deepcopy(dict(state))
        device = cls(send, device_id=state["device_id"], prefix=state["prefix"], **options)
        device.confirmed = {key: Entity(**value) for key, value in state["confirmed"].items()}
        device.outbox = [PendingChange(**change) for change in state["outbox"]]
        device.batch = None if state["batch"] is None else Batch(**state["batch"])
        device.cursor = state["cursor"]
        device.bootstrap = None if state["bootstrap"] is None else set(state["bootstrap"])
        device.hlc = None if state["hlc"] is None else parse_hlc(state["hlc"])
        device.next_seq = state["next_seq"]
        device.orders_opened = state["orders_opened"]
        device.online = state["online"]
        device._rebuild()
        return device

    # Local edits -----------------------------------------------------------------------

    def edit(self, entity_type: str, entity_id: UUID | str, fields: Mapping[str, Any]) -> int:
        """Write ``fields`` locally and queue the change; counters take a delta. Returns its seq."""
        return self._record(entity_type, str(entity_id), "upsert", dict(fields))

    def delete(self, entity_type: str, entity_id: UUID | str) -> int:
        """Delete locally (only deletable types, such as a table's state) and queue it."""
        return self._record(entity_type, str(entity_id), "delete", {})

    def open_order(self, order_id: UUID | None = None, **fields: Any) -> UUID:
        """Start an order numbered with this device's prefix (``A-0001``), status open."""
        order_id = order_id or self.new_id()
        self.orders_opened += 1
        opened_at = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.now_ms() / 1000))
        self.edit(
            "order",
            order_id,
            {
                "number": f"{self.prefix}-{self.orders_opened:04d}",
                "device_prefix": self.prefix,
                "device_seq": self.orders_opened,
                "opened_at": f"{opened_at}Z",
                "status": "open",
                **fields,
            },
        )
        return order_id

    def observe_hlc(self, remote: str) -> None:
        """Move the HLC past a remote reading, so later local writes order after it."""
        self.hlc = receive(self.hlc, parse_hlc(remote), now_ms=self.now_ms(), node=self.device_id)

    def get(self, entity_type: str, entity_id: UUID | str) -> Entity | None:
        """The entity as the device shows it (pending changes on top), or None."""
        entity = self.store.get(entity_key(entity_type, entity_id))
        return None if entity is None or entity.deleted else entity

    def _record(self, entity_type: str, entity_id: str, op: str, fields: dict[str, Any]) -> int:
        key = entity_key(entity_type, entity_id)
        shown = self.store.get(key)
        clock = increment(shown.clock if shown else {}, self.device_id)
        self.hlc = tick(self.hlc, now_ms=self.now_ms(), node=self.device_id)
        change = PendingChange(
            seq=self.next_seq,
            entity_type=entity_type,
            entity_id=entity_id,
            op=op,
            fields=fields,
            clock=clock,
            hlc=format_hlc(self.hlc),
        )
        if self.signed_in is not None:
            signed = offline.statement_of(self.device_id, change.wire())
            change.actor = self.signed_in.actor(signed)
        self.next_seq += 1
        self.outbox.append(change)
        self._rebuild(key)
        return change.seq

    # Push --------------------------------------------------------------------------------

    async def push(self) -> dict[str, Any] | None:
        """Send the batch in flight (freezing one if needed); the server's answer once acked.

        Returns ``None`` when offline, when there is nothing to send, or when the answer was
        lost or the server was briefly unable (try again later).
        """
        if not self.online:
            return None
        if self.batch is None:
            if not self.outbox:
                return None
            chosen = self.outbox[: self.batch_size]
            self.batch = Batch(str(self.new_id()), [change.seq for change in chosen])
        by_seq = {change.seq: change for change in self.outbox}
        body = {
            "batch_id": self.batch.batch_id,
            "device_id": self.device_id,
            "schema_version": self.schema_version,
            "app_version": self.app_version,
            "changes": [by_seq[seq].wire() for seq in self.batch.seqs],
        }
        self.stats.pushes += 1
        answer = await self._exchange("POST", PUSH_PATH, json=body)
        if answer is None:
            return None
        status, response = answer
        if status == 409 and _code(response) == "sequence_gap":
            self._after_gap(response)
            return None
        if status != 200:
            raise SyncRefused(status, response)
        self._acknowledge(response)
        return dict(response)

    async def push_all(self) -> bool:
        """Push batch after batch until the outbox is sent; False if a push did not get through."""
        while self.online and (self.batch is not None or self._unsent()):
            if await self.push() is None and (self.batch is not None or self._unsent()):
                return False
        return self.online

    def _unsent(self) -> list[PendingChange]:
        """Changes never sent in a batch (everything in the outbox once no batch is in flight)."""
        in_flight = set(self.batch.seqs) if self.batch else set()
        return [change for change in self.outbox if change.seq not in in_flight]

    def _acknowledge(self, response: Mapping[str, Any]) -> None:
        acked = int(response["last_applied_seq"])
        touched: set[str] = set()
        for result in response["results"]:
            outcome = result["outcome"]
            self.stats.outcomes[outcome] = self.stats.outcomes.get(outcome, 0) + 1
            key = entity_key(result["entity_type"], result["entity_id"])
            touched.add(key)
            state = result.get("state")
            if state is None:
                # Rejected without a state to show: the change simply leaves the outbox, so
                # the device shows the confirmed state again (or nothing, for a new entity).
                continue
            if state.get("hlc"):
                self.observe_hlc(state["hlc"])
            incoming = Entity(state["data"], state["clock"], state["deleted"])
            known = self.confirmed.get(key)
            # Answers carry the entity as the server holds it when answering, but one that
            # crossed a later pull on the way is older than what was pulled: keep the newer.
            if known is not None and compare(incoming.clock, known.clock) is ClockOrdering.BEFORE:
                continue
            self.confirmed[key] = incoming
        self._drop_through(acked)
        for key in touched:
            self._rebuild(key)

    def _after_gap(self, response: Mapping[str, Any]) -> None:
        expected = response.get("expected_seq")
        if not isinstance(expected, int) or not self.outbox:
            raise SyncRefused(409, response)
        first = self.outbox[0].seq
        self.batch = None  # whatever happens next, the batch's contents change: a new id
        if expected >= first:
            # The server has more of ours than we knew; send from what it expects.
            self._drop_through(expected - 1)
            return
        # The server lost changes it had acknowledged (restored from a backup). They are
        # gone from here too, so number what is still pending from where the server is.
        log.warning(
            "server expects change %s but our oldest pending change is %s: renumbering",
            expected,
            first,
            extra={"device_id": self.device_id},
        )
        for offset, change in enumerate(self.outbox):
            change.seq = expected + offset
        self.next_seq = expected + len(self.outbox)

    def _drop_through(self, seq: int) -> None:
        """Forget outbox changes up to ``seq``: the server has them."""
        dropped = {change.key for change in self.outbox if change.seq <= seq}
        self.outbox = [change for change in self.outbox if change.seq > seq]
        if self.batch is not None and min(self.batch.seqs) <= seq:
            # Acknowledged (batches apply whole); a batch id never names other contents.
            self.batch = None
        for key in dropped:
            self._rebuild(key)

    # Pull --------------------------------------------------------------------------------

    async def pull(self) -> bool:
        """Page through every change after the cursor; False if a page did not get through.

        Pages apply as they come and the cursor moves with them, so an interrupted pull (or
        bootstrap) resumes where it stopped.
        """
        if not self.online:
            return False
        restarted = False
        last_applied = 0
        for _ in range(MAX_PULL_PAGES):
            if self.cursor is None and self.bootstrap is None:
                self.bootstrap = set()
            params: dict[str, Any] = {
                "schema_version": self.schema_version,
                "app_version": self.app_version,
                "limit": self.pull_limit,
            }
            if self.cursor is not None:
                params["cursor"] = self.cursor
            self.stats.pulls += 1
            answer = await self._exchange("GET", PULL_PATH, params=params)
            if answer is None:
                return False
            status, page = answer
            if status == 410 and _code(page) == "resync_required" and not restarted:
                restarted, self.cursor, self.bootstrap = True, None, set()
                continue
            if status != 200:
                raise SyncRefused(status, page)
            self._apply_pulled(page["changes"])
            self.cursor = page["cursor"]
            last_applied = int(page["last_applied_seq"])
            if not page["has_more"]:
                break
        else:
            raise SyncRefused(200, {"code": "pull_never_ends"})
        if self.bootstrap is not None:
            # A snapshot lists every entity the server still has, tombstones included:
            # whatever this device knew that neither the snapshot nor the feed after it
            # mentioned is gone from the server (its tombstone was purged).
            for key in set(self.confirmed) - self.bootstrap:
                del self.confirmed[key]
            self.bootstrap = None
            self._rebuild()
        self._drop_through(last_applied)
        return True

    def _apply_pulled(self, states: list[dict[str, Any]]) -> None:
        for state in states:
            key = entity_key(state["entity_type"], state["entity_id"])
            if state.get("hlc"):
                self.observe_hlc(state["hlc"])
            self.confirmed[key] = Entity(state["data"], state["clock"], state["deleted"])
            if self.bootstrap is not None:
                self.bootstrap.add(key)
            self._rebuild(key)

    async def sync(self) -> bool:
        """Push everything pending, then pull; True if both got through."""
        pushed = await self.push_all()
        pulled = await self.pull()
        return pushed and pulled

    # Internals ---------------------------------------------------------------------------

    async def _exchange(
        self,
        method: str,
        path: str,
        *,
        json: Any | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> tuple[int, Any] | None:
        """One request; None when it was lost or the server asked to come back later."""
        try:
            status, body = await self.send(method, path, json=json, params=params)
        except OSError:
            self.stats.lost += 1
            return None
        if status >= 500 or status == 429:
            return None
        return status, body

    def _counter_fields(self, entity_type: str) -> Collection[str]:
        if self._counters is not None:
            return self._counters.get(entity_type, ())
        entry = registry.registered(entity_type)
        return entry.spec.counters if entry is not None else ()

    def _rebuild(self, key: str | None = None) -> None:
        """Recompute what the device shows: confirmed state, then pending changes on top."""
        if key is None:
            keys = set(self.store) | set(self.confirmed) | {change.key for change in self.outbox}
        else:
            keys = {key}
        for each in keys:
            shown = self._rebased(each)
            if shown is None:
                self.store.pop(each, None)
            else:
                self.store[each] = shown

    def _rebased(self, key: str) -> Entity | None:
        base = self.confirmed.get(key)
        pending = [change for change in self.outbox if change.key == key]
        if not pending:
            return None if base is None else copy.deepcopy(base)
        data = dict(base.data) if base and not base.deleted else {}
        clock = dict(base.clock) if base else {}
        deleted = base.deleted if base else False
        for change in pending:
            clock = merge(clock, change.clock)
            if change.op == "delete":
                data, deleted = {}, True
                continue
            deleted = False
            counters = self._counter_fields(change.entity_type)
            for name, value in change.fields.items():
                data[name] = data.get(name, 0) + value if name in counters else value
        return Entity(copy.deepcopy(data), clock, deleted)


def _code(body: Any) -> str | None:
    return body.get("code") if isinstance(body, dict) else None
