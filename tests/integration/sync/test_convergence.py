"""Replicas converge under a hostile network (reliability notes E4; sync notes §5.15).

A Hypothesis state machine runs three or four reference iPads
(``server/sync/reference_client.py``) at one location of a fresh restaurant. They open
orders, add and void lines, write notes, move orders forward, seat and clear tables and
count portions down, while the network drops requests or their answers, delivers some twice,
holds some back to deliver later (out of order), and cuts devices off; devices also go
offline and restart from their persisted state. Then everything heals, every device syncs
until nothing changes, and the checks run:

- every device shows exactly what a brand-new iPad pulls from an empty cursor;
- every change was acknowledged once (``last_seq`` and the stored results per device), and
  every order and line made is in the orders API exactly once, but for lines refused
  because another device had closed their bill (``order_closed``, quarantined);
- each portion count is the sum of every delta any device sent;
- no device ever pulled an order whose status had gone backwards.

The app and its connection pool live on the session's event loop, but a state machine's
rules are synchronous. So the test, itself a coroutine on that loop, runs the machine in a
worker thread; each rule hands its coroutines back to the loop with
``asyncio.run_coroutine_threadsafe``, and the loop serves them while it awaits the thread.
A failure prints a ``@reproduce_failure`` blob (``print_blob``) that replays it exactly.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar
from uuid import UUID, uuid4

import httpx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)
from litestar import Litestar

from server.auth.tables import Role
from server.catalog.sync import availability_id
from server.db.engine import DB
from server.devices.tables import Device
from server.orders.sync import ORDER_STATES
from server.sync.reference_client import ReferenceDevice, Send, entity_key
from tests.factories import Ipad, Tenant, make_ipad, make_tenant

T = TypeVar("T")

SETTINGS = settings(
    # CI's budget; a nightly run sets SYNC_CONVERGENCE_EXAMPLES=1000 (reliability notes E4).
    max_examples=int(os.environ.get("SYNC_CONVERGENCE_EXAMPLES", "25")),
    stateful_step_count=40,
    deadline=None,
    print_blob=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
FAULTS = ("ok", "ok", "drop_request", "drop_response", "duplicate", "delay")
HEAL_ROUNDS = 8
TABLES = (UUID(int=1), UUID(int=2))
NOTES = ("", "window seat", "birthday", "no onions", "allergy: nuts")
TABLE_STATES = ("seated", "ordered", "paying", "dirty", "free")
DEVICE = st.integers(0, 3)
PICK = st.integers(0, 10_000)
ACTIONS = (
    "open_order",
    "add_line",
    "change_line",
    "write_notes",
    "move_order",
    "seat_table",
    "clear_table",
    "count_portions",
)
ACTION = st.tuples(st.sampled_from(ACTIONS), PICK, st.integers(0, 9))


@dataclass
class Harness:
    """The session's loop, app and client, reached from the machine's thread."""

    loop: asyncio.AbstractEventLoop
    app: Litestar
    client: httpx.AsyncClient

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=120)


@dataclass
class Network:
    """The fake network between the iPads and the server: it loses, repeats and delays."""

    client: httpx.AsyncClient
    plans: dict[str, list[str]] = field(default_factory=dict)
    """Per device, the faults its next requests meet, in order ("ok" once they run out)."""
    cut_off: set[str] = field(default_factory=set)
    held: list[tuple[str, str, Any, Any, dict[str, str]]] = field(default_factory=list)
    """Requests the network is holding back, to deliver later (their answers go nowhere)."""
    statuses: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    """Per (device, order), every status the device pulled, in the order it pulled them."""

    def sender(self, ipad: Ipad) -> Send:
        device = str(ipad.device_id)

        async def send(
            method: str, path: str, *, json: Any = None, params: Any = None
        ) -> tuple[int, Any]:
            if device in self.cut_off:
                raise ConnectionError("no route to the server")
            plan = self.plans.get(device) or []
            fault = plan.pop(0) if plan else "ok"
            request = (method, path, json, params, ipad.headers)
            if fault == "drop_request":
                raise ConnectionError("request lost")
            if fault == "delay":
                self.held.append(request)
                raise TimeoutError("no answer yet")
            status, body = await self.deliver(request)
            if fault == "duplicate":
                status, body = await self.deliver(request)
            if fault == "drop_response":
                raise TimeoutError("answer lost")
            if path.endswith("/pull") and status == 200:
                for state in body["changes"]:
                    if state["entity_type"] == "order" and not state["deleted"]:
                        key = (device, state["entity_id"])
                        self.statuses.setdefault(key, []).append(state["data"]["status"])
            return status, body

        return send

    async def deliver(self, request: tuple[str, str, Any, Any, dict[str, str]]) -> tuple[int, Any]:
        method, path, body, params, headers = request
        response = await self.client.request(
            method, path, json=body, params=params, headers=headers
        )
        assert response.status_code < 500, response.text
        return response.status_code, response.json()


class ConvergenceMachine(RuleBasedStateMachine):
    harness: ClassVar[Harness]
    healed_and_checked: ClassVar[int] = 0
    """How many runs reached the final check, so a run that checks nothing cannot pass."""

    def __init__(self) -> None:
        super().__init__()
        self.network = Network(self.harness.client)
        self.tenant: Tenant | None = None
        self.ipads: list[Ipad] = []
        self.devices: list[ReferenceDevice] = []
        self.skews: list[int] = []
        self.now = int(time.time() * 1000) - 86_400_000  # a day ago: never clamped as future
        self.products: list[str] = []
        self.orders_made: dict[str, str] = {}
        self.lines_made: dict[str, str] = {}
        self.portions: dict[str, int] = {}

    # Set-up ------------------------------------------------------------------------------

    @initialize(
        skews=st.lists(st.integers(-90_000, 90_000), min_size=3, max_size=4),
        opening=st.lists(ACTION, min_size=3, max_size=12),
    )
    def enrol(self, skews: list[int], opening: list[tuple[str, int, int]]) -> None:
        """Enrol the iPads (each with its own wall-clock skew) and start the service."""
        self.tenant, self.ipads, self.products = self.harness.run(self._restaurant(len(skews)))
        self.skews = skews
        for index, ipad in enumerate(self.ipads):
            self.devices.append(self._device(index, ipad, prefix=self._prefixes[index]))
        for turn, action in enumerate(opening):
            self._do(self.devices[turn % len(self.devices)], [action])

    async def _restaurant(self, size: int) -> tuple[Tenant, list[Ipad], list[str]]:
        app, client = self.harness.app, self.harness.client
        tenant = await make_tenant(app)
        ipads = [
            await make_ipad(app, tenant, signed_in=Role.owner, name=f"Till {n}")
            for n in range(size)
        ]
        rows = await Device.select(Device.id, Device.prefix).where(
            Device.restaurant_id == tenant.restaurant_id
        )
        prefixes = {row["id"]: row["prefix"] for row in rows}
        self._prefixes = [prefixes[ipad.device_id] for ipad in ipads]
        products = []
        for name in ("Brownie", "Soup of the day"):
            response = await client.post(
                "/api/v1/products", json={"name": name, "price": 500}, headers=tenant.headers
            )
            assert response.status_code == 201, response.text
            products.append(response.json()["id"])
        return tenant, ipads, products

    def _device(self, index: int, ipad: Ipad, *, prefix: str) -> ReferenceDevice:
        device = ReferenceDevice(
            self.network.sender(ipad),
            device_id=ipad.device_id,
            prefix=prefix,
            batch_size=5,
            pull_limit=7,
            now_ms=lambda: self._wall(index),
        )
        device.signed_in = ipad.signed_in
        return device

    def _wall(self, index: int) -> int:
        self.now += 1
        return self.now + self.skews[index]

    def _pick(self, device: int) -> tuple[int, ReferenceDevice]:
        index = device % len(self.devices)
        return index, self.devices[index]

    def _shown(self, ipad: ReferenceDevice, entity_type: str, pick: int) -> str | None:
        """One live entity of ``entity_type`` the iPad shows, chosen by ``pick``."""
        ids = sorted(
            key.split("/", 1)[1]
            for key, entity in ipad.store.items()
            if key.startswith(f"{entity_type}/") and not entity.deleted
        )
        return ids[pick % len(ids)] if ids else None

    # What staff do -----------------------------------------------------------------------

    @rule(device=DEVICE, actions=st.lists(ACTION, min_size=1, max_size=6))
    def work(self, device: int, actions: list[tuple[str, int, int]]) -> None:
        """A burst of taps on one iPad: each action is (what, which entity, a value)."""
        self._do(self._pick(device)[1], actions)

    def _do(self, ipad: ReferenceDevice, actions: list[tuple[str, int, int]]) -> None:
        for kind, pick, value in actions:
            self.now += value * 97  # the wall clock moves on between taps
            getattr(self, f"_{kind}")(ipad, pick, value)

    def _open_order(self, ipad: ReferenceDevice, pick: int, value: int) -> None:
        order_id = ipad.open_order(covers=value % 9)
        self.orders_made[str(order_id)] = ipad.get("order", order_id).data["number"]  # type: ignore[union-attr]
        for _ in range(pick % 3):
            self._add_line(ipad, -1, value)

    def _add_line(self, ipad: ReferenceDevice, pick: int, value: int) -> None:
        # pick -1: the order just opened, the last one in the outbox.
        order_id = ipad.outbox[-1].entity_id if pick < 0 else self._shown(ipad, "order", pick)
        if order_id is None:
            return
        line_id = str(ipad.new_id())
        fields = {"order_id": order_id, "name": "Dish", "unit_price": 150 * value}
        ipad.edit("order_line", line_id, {**fields, "quantity": 1 + value % 4, "vat_rate_bp": 2000})
        self.lines_made[line_id] = order_id

    def _change_line(self, ipad: ReferenceDevice, pick: int, value: int) -> None:
        line_id = self._shown(ipad, "order_line", pick)
        if line_id is not None:
            ipad.edit(
                "order_line", line_id, {"voided": True} if value == 0 else {"quantity": value}
            )

    def _write_notes(self, ipad: ReferenceDevice, pick: int, value: int) -> None:
        order_id = self._shown(ipad, "order", pick)
        if order_id is not None:
            ipad.edit("order", order_id, {"notes": NOTES[value % len(NOTES)]})

    def _move_order(self, ipad: ReferenceDevice, pick: int, value: int) -> None:
        order_id = self._shown(ipad, "order", pick)
        if order_id is None:
            return
        shown = ipad.get("order", order_id)
        assert shown is not None
        status = ("sent", "paid", "voided")[value % 3]
        if status in ORDER_STATES.allowed.get(shown.data["status"], frozenset()):
            if status == "paid":  # cash that covers any bill here, then the order is paid
                cash = {"order_id": order_id, "amount": 1_000_000, "tendered": 1_000_000,
                        "currency": "GBP", "taken_at": "2026-11-26T12:30:00Z"}  # fmt: skip
                ipad.edit("cash_payment", str(uuid4()), cash)
            ipad.edit("order", order_id, {"status": status})

    def _seat_table(self, ipad: ReferenceDevice, pick: int, value: int) -> None:
        status = TABLE_STATES[value % len(TABLE_STATES)]
        ipad.edit("table_state", TABLES[pick % len(TABLES)], {"status": status, "covers": value})

    def _clear_table(self, ipad: ReferenceDevice, pick: int, value: int) -> None:
        table = TABLES[pick % len(TABLES)]
        if ipad.get("table_state", table) is not None:
            ipad.delete("table_state", table)

    def _count_portions(self, ipad: ReferenceDevice, pick: int, value: int) -> None:
        assert self.tenant is not None
        product_id = self.products[pick % len(self.products)]
        stock = str(availability_id(self.tenant.location_id, UUID(product_id)))
        delta = value - 5
        ipad.edit("availability", stock, {"product_id": product_id, "remaining": delta})
        self.portions[stock] = self.portions.get(stock, 0) + delta

    # What the network and the devices do -------------------------------------------------

    @rule(
        device=DEVICE,
        how=st.sampled_from(["sync", "sync", "push", "pull"]),
        faults=st.lists(st.sampled_from(FAULTS), max_size=4),
    )
    def sync(self, device: int, how: str, faults: list[str]) -> None:
        index, ipad = self._pick(device)
        self.network.plans[str(self.ipads[index].device_id)] = list(faults)
        exchange = {"sync": ipad.sync, "push": ipad.push_all, "pull": ipad.pull}[how]
        self.harness.run(exchange())

    @precondition(lambda self: bool(self.network.held))
    @rule(pick=PICK)
    def deliver_held(self, pick: int) -> None:
        """A request the network held back arrives now, after later ones (its answer is lost)."""
        request = self.network.held.pop(pick % len(self.network.held))
        self.harness.run(self.network.deliver(request))

    @rule(device=DEVICE, event=st.sampled_from(["offline", "cut_off", "restart"]))
    def device_event(self, device: int, event: str) -> None:
        index, ipad = self._pick(device)
        if event == "offline":
            ipad.online = not ipad.online
        elif event == "cut_off":
            self.network.cut_off ^= {str(self.ipads[index].device_id)}
        else:
            # The app is killed and relaunched: only what it persisted survives.
            saved = json.loads(json.dumps(ipad.state()))
            self.devices[index] = ReferenceDevice.restore(
                self.network.sender(self.ipads[index]),
                saved,
                batch_size=5,
                pull_limit=7,
                now_ms=lambda: self._wall(index),
            )
            # Its manager signs in again by PIN; what the outbox holds keeps its proofs.
            self.devices[index].signed_in = self.ipads[index].signed_in

    # Heal, then check --------------------------------------------------------------------

    def teardown(self) -> None:
        if self.tenant is None:
            return
        self.network.plans.clear()
        self.network.cut_off.clear()
        while self.network.held:
            self.harness.run(self.network.deliver(self.network.held.pop(0)))
        for ipad in self.devices:
            ipad.online = True
        self._sync_until_quiet()
        self.harness.run(self._check(self.tenant))
        ConvergenceMachine.healed_and_checked += 1

    def _sync_until_quiet(self) -> None:
        for _ in range(HEAL_ROUNDS):
            before = [json.dumps(ipad.state(), sort_keys=True) for ipad in self.devices]
            for ipad in self.devices:
                assert self.harness.run(ipad.sync())
            after = [json.dumps(ipad.state(), sort_keys=True) for ipad in self.devices]
            if before == after and not any(ipad.outbox for ipad in self.devices):
                return
        raise AssertionError(f"still syncing after {HEAL_ROUNDS} rounds")

    async def _check(self, tenant: Tenant) -> None:
        client = self.harness.client
        newcomer_ipad = await make_ipad(self.harness.app, tenant, name="Newcomer")
        newcomer = ReferenceDevice(
            self.network.sender(newcomer_ipad), device_id=newcomer_ipad.device_id, prefix="-"
        )
        assert await newcomer.pull()
        server = live(newcomer)

        for ipad in self.devices:
            assert not ipad.outbox and ipad.batch is None
            shown = live(ipad)
            assert shown == server, f"{ipad.device_id} diverged:\n{differences(shown, server)}"

        for ipad in self.devices:
            last = ipad.next_seq - 1
            assert DB.pool is not None
            async with DB.pool.acquire() as conn:
                progress = await conn.fetchval(
                    "SELECT last_seq FROM sync_devices WHERE device_id = $1", UUID(ipad.device_id)
                )
                stored = await conn.fetchrow(
                    "SELECT count(*) AS n, count(DISTINCT seq) AS seqs, max(seq) AS top"
                    " FROM sync_results WHERE device_id = $1",
                    UUID(ipad.device_id),
                )
            assert (progress or 0) == last
            assert stored["n"] == stored["seqs"] == last and (stored["top"] or 0) == last

        quarantined = (
            await client.get(
                "/api/v1/sync/quarantine", params={"limit": 200}, headers=tenant.headers
            )
        ).json()["items"]
        # A move made on top of a concurrent close can be refused, and so can "paid" on top of
        # a void, a line added to (or changed on) a bill another device closed meanwhile, and
        # a later edit of a line whose creation was refused so; nothing else here is.
        reasons = {"state_backwards", "order_voided", "order_closed", "missing_fields"}
        assert {item["reason"] for item in quarantined} <= reasons
        closed_out = {
            item["change"]["entity_id"] for item in quarantined if item["reason"] == "order_closed"
        }
        for item in quarantined:
            if item["reason"] == "missing_fields":
                assert item["change"]["entity_id"] in closed_out, item
        for line_id in self.lines_made:
            if entity_key("order_line", line_id) not in server:
                assert line_id in closed_out, f"line {line_id} was lost without a reason"

        orders = await list_orders(client, tenant)
        assert sorted(order["id"] for order in orders) == sorted(self.orders_made)
        assert {order["id"]: order["number"] for order in orders} == self.orders_made
        for order in orders:
            body = (
                await client.get(f"/api/v1/orders/{order['id']}", headers=tenant.headers)
            ).json()
            made = sorted(
                line
                for line, owner in self.lines_made.items()
                if owner == order["id"] and entity_key("order_line", line) in server
            )
            assert sorted(line["id"] for line in body["lines"]) == made
            synced = server[entity_key("order", order["id"])][0]
            assert body["status"] == synced["status"]
            assert body["notes"] == synced.get("notes", "")

        for stock, total in self.portions.items():
            assert server[entity_key("availability", stock)][0]["remaining"] == total

        ranks = ORDER_STATES.ranks
        for (device, order_id), seen in self.network.statuses.items():
            assert [ranks[s] for s in seen] == sorted(ranks[s] for s in seen), (
                f"{device} pulled order {order_id} going {' -> '.join(seen)}"
            )


def live(ipad: ReferenceDevice) -> dict[str, tuple[dict[str, Any], dict[str, int]]]:
    return {key: (e.data, e.clock) for key, e in ipad.store.items() if not e.deleted}


def differences(shown: dict[str, Any], server: dict[str, Any]) -> str:
    return "\n".join(
        f"{key}: device {shown.get(key)} / server {server.get(key)}"
        for key in sorted(shown.keys() | server.keys())
        if shown.get(key) != server.get(key)
    )


async def list_orders(client: httpx.AsyncClient, tenant: Tenant) -> list[dict[str, Any]]:
    orders: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(100):
        params: dict[str, Any] = {"location_id": str(tenant.location_id), "limit": 200}
        if cursor:
            params["cursor"] = cursor
        response = await client.get("/api/v1/orders", params=params, headers=tenant.headers)
        assert response.status_code == 200, response.text
        orders += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return orders
    raise AssertionError("the order list never ended")


async def test_replicas_converge_under_drops_duplicates_delays_and_partitions(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    ConvergenceMachine.harness = Harness(asyncio.get_running_loop(), app, client)
    ConvergenceMachine.healed_and_checked = 0
    await asyncio.to_thread(run_state_machine_as_test, ConvergenceMachine, settings=SETTINGS)
    # Each run's teardown healed the network and compared every iPad with the server.
    assert ConvergenceMachine.healed_and_checked >= 1
