"""A restaurant evening for locust: 20 iPads, the back office and the card terminals at once.

Run by ``load/bench.py``, which enrols the iPads in process through the real services and
writes what the users need to the file named by ``BENCH_EVENING_PLAN``: each iPad's access
token and its manager's PIN key (so every change carries a real proof), the menu and floor,
the owner's token, and open orders for the card terminals. Every request is also logged, one
JSON line each, to ``BENCH_EVENING_LOG`` for ``load/evening.py``'s figures.

- **iPads** (``TillUser``, one per enrolled device): about once a second (Poisson), either
  push what the till did since the last push (a new order and its lines, the previous order
  sent, the one before paid in cash, a table's state) or pull what the others did. When the
  timeline says the iPad is offline, it queues its changes instead; when it comes back, it
  pushes the whole queue in batches of 100 and pulls until it has caught up: a reconnect.
  Several iPads go offline and come back together (a storm), others one at a time.
- **Back office** (``load/locustfile.py``'s mix, five tabs at one request a second each).
- **Card terminals**: a card payment through ``POST /api/v1/payments`` to the fake Stripe the
  server runs, every two seconds each.

Every user runs at the timeline's multiplier: ten times the normal rate during the burst.
``EveningShape`` spawns everyone at once and stops the run at the timeline's end.
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from locust import LoadTestShape, events, task
from locust.contrib.fasthttp import FastHttpUser
from locust.exception import StopUser

from load import locustfile as back_office
from load.evening import Timeline
from load.sync_bench import APP_VERSION, BATCH_SIZE, SCHEMA_VERSION, BenchDevice, Tenant, Till
from server.auth.offline import SignedIn

PLAN = json.loads(Path(os.environ["BENCH_EVENING_PLAN"]).read_text())
TIMELINE = Timeline.quick() if PLAN["quick"] else Timeline.full()
LOG_PATH = Path(os.environ["BENCH_EVENING_LOG"])

TILL_STEPS_PER_SECOND = 1.0
BACK_OFFICE_USERS = 5
BACK_OFFICE_PER_SECOND = 1.0
CARD_TERMINALS = 2
CARD_PAYMENTS_PER_SECOND = 0.5
LINES_PER_ORDER = 3
PULL_LIMIT = 500
MAX_PAGES = 200
CARD_AMOUNT = 2500  # the orders load/bench.py wrote for the terminals (load/payments_bench.py)


class Clock:
    """Seconds since the test started (set on ``test_start``), the timeline's time."""

    started = time.time()

    @classmethod
    def now(cls) -> float:
        return time.time() - cls.started


SAMPLES: list[tuple[float, float, str, bool]] = []


@events.test_start.add_listener
def _started(**_: Any) -> None:
    Clock.started = time.time()


@events.request.add_listener
def _logged(name: str, response_time: float, exception: Any, **_: Any) -> None:
    start = Clock.now() - response_time / 1000
    SAMPLES.append((round(start, 4), round(response_time, 2), name, exception is not None))


@events.quitting.add_listener
def _write_log(**_: Any) -> None:
    with LOG_PATH.open("w", encoding="utf-8") as out:
        out.writelines(json.dumps(sample) + "\n" for sample in SAMPLES)


def paced(per_second: float) -> Any:
    """A wait_time: Poisson arrivals at ``per_second`` times the timeline's multiplier, each
    due a random gap after the previous one was *due* (not answered), so a slow answer does
    not lower the offered rate; a user already late goes at once, but never fires a backlog."""

    def wait(user: Any) -> float:
        now = Clock.now()
        previous = max(getattr(user, "due", now), now - 1 / per_second)
        user.due = previous + random.expovariate(per_second * TIMELINE.multiplier(now))
        return max(0.0, user.due - now)

    return wait


def _tenant() -> Tenant:
    tills = [
        BenchDevice(
            UUID(till["device_id"]),
            till["prefix"],
            till["token"],
            SignedIn(UUID(till["employee_id"]), bytes.fromhex(till["key"])),
        )
        for till in PLAN["tills"]
    ]
    return Tenant(
        UUID(PLAN["restaurant_id"]),
        UUID(PLAN["location_id"]),
        [(UUID(p), name, price, vat) for p, name, price, vat in PLAN["products"]],
        [UUID(t) for t in PLAN["tables"]],
        tills,
        [],
    )


TENANT = _tenant()
FREE_TILLS = list(range(len(TENANT.tills)))
FREE_ORDERS = list(PLAN["orders"])


class EveningTill(Till):
    """``load/sync_bench.py``'s till, pushing what one step of service makes, not 100 at once."""

    def step(self) -> list[dict[str, Any]]:
        """A new order and its lines, the previous one sent, the one before paid in cash."""
        changes: list[dict[str, Any]] = []
        order_id = str(uuid4())
        self.order_seq += 1
        table = self.tenant.tables[(self.index + self.order_seq) % len(self.tenant.tables)]
        order = {
            "number": f"{self.device.prefix}-{self.order_seq:04d}",
            "device_prefix": self.device.prefix,
            "device_seq": self.order_seq,
            "opened_at": _now(),
            "status": "open",
            "table_id": str(table),
            "covers": 2,
        }
        changes.append(self._change("order", order_id, order, track=True))
        due = 0
        for position in range(LINES_PER_ORDER):
            product, name, price, vat = self.tenant.products[
                (self.order_seq + position) % len(self.tenant.products)
            ]
            line = {
                "order_id": order_id,
                "product_id": str(product),
                "name": name,
                "unit_price": price,
                "quantity": 1,
                "vat_rate_bp": vat,
                "position": position,
            }
            changes.append(self._change("order_line", str(uuid4()), line, track=False))
            due += price
        self.due[order_id] = due
        if self.batches_of_orders:
            sent = self.batches_of_orders[-1][0]
            changes.append(self._change("order", sent, {"status": "sent"}, track=True))
        if len(self.batches_of_orders) >= 2:
            paid_id = self.batches_of_orders[-2][0]
            cash = {
                "order_id": paid_id,
                "amount": self.due.pop(paid_id),
                "tendered": 100_000,
                "currency": "GBP",
                "taken_at": _now(),
            }
            changes.append(self._change("cash_payment", str(uuid4()), cash, track=False))
            paid = {"status": "paid", "closed_at": _now(), "tip": 0}
            changes.append(self._change("order", paid_id, paid, track=True))
        self.batches_of_orders.append([order_id])
        state = ("seated", "ordered", "paying", "dirty", "free")[self.order_seq % 5]
        changes.append(self._change("table_state", str(table), {"status": state}, track=True))
        return changes


class TillUser(FastHttpUser):
    """One iPad: pushes and pulls while online, queues while offline, catches up on return."""

    fixed_count = len(TENANT.tills)
    wait_time = paced(TILL_STEPS_PER_SECOND)

    def on_start(self) -> None:
        if not FREE_TILLS:
            raise StopUser  # one user per enrolled iPad
        self.number = FREE_TILLS.pop(0)
        device = TENANT.tills[self.number]
        self.till = EveningTill(device, TENANT, self.number)
        self.headers = device.headers
        self.cursor: str | None = None
        self.queued: list[dict[str, Any]] = []
        self.pushes_next = True
        self.catch_up("/api/v1/sync/pull (bootstrap)")

    @task
    def step(self) -> None:
        if TIMELINE.offline(self.number, Clock.now()):
            self.queued += self.till.step()  # the till works on; nothing leaves the iPad
            return
        if self.queued:
            queued, self.queued = self.queued, []
            for begin in range(0, len(queued), BATCH_SIZE):
                self.push(queued[begin : begin + BATCH_SIZE], "/api/v1/sync/push (reconnect)")
            self.catch_up("/api/v1/sync/pull (reconnect)")
            return
        if self.pushes_next:
            self.push(self.till.step(), "/api/v1/sync/push")
        else:
            self.catch_up("/api/v1/sync/pull")
        self.pushes_next = not self.pushes_next

    def push(self, changes: list[dict[str, Any]], name: str) -> None:
        body = {
            "batch_id": str(uuid4()),
            "device_id": self.till.actor,
            "schema_version": SCHEMA_VERSION,
            "app_version": APP_VERSION,
            "changes": changes,
        }
        with self.client.post(
            "/api/v1/sync/push", json=body, name=name, headers=self.headers, catch_response=True
        ) as response:
            answer = back_office._json_or_fail(response)
            results = answer.get("results") if isinstance(answer, dict) else None
            if answer is None:
                return
            if not isinstance(results, list) or len(results) != len(changes):
                response.failure("the push answered another number of results")
                return
            rejected = [r for r in results if r.get("outcome") == "rejected"]
            if rejected:
                response.failure(f"rejected: {rejected[0].get('reason')}")
            self.till.adopt(results)

    def catch_up(self, name: str) -> None:
        """Pull from the iPad's cursor until the server says there is no more (bounded)."""
        for _ in range(MAX_PAGES):
            params = f"schema_version={SCHEMA_VERSION}&app_version={APP_VERSION}&limit={PULL_LIMIT}"
            if self.cursor:
                params += f"&cursor={self.cursor}"
            with self.client.get(
                f"/api/v1/sync/pull?{params}", name=name, headers=self.headers, catch_response=True
            ) as response:
                page = back_office._json_or_fail(response)
            if not isinstance(page, dict):
                return
            self.cursor = page["cursor"]
            if not page["has_more"]:
                return


class BackOfficeTab(back_office.BackOfficeUser):
    """The back office's mix, at the evening's pace."""

    fixed_count = BACK_OFFICE_USERS
    wait_time = paced(BACK_OFFICE_PER_SECOND)


class CardTerminal(FastHttpUser):
    """A card payment at the fake Stripe, on one of the open orders written for it."""

    fixed_count = CARD_TERMINALS
    wait_time = paced(CARD_PAYMENTS_PER_SECOND)

    def on_start(self) -> None:
        self.headers = {"Authorization": f"Bearer {PLAN['owner_token']}"}

    @task
    def pay_by_card(self) -> None:
        if not FREE_ORDERS:
            return  # every order paid: the run outlasted what bench.py wrote
        body = {
            "order_id": FREE_ORDERS.pop(),
            "method": "card",
            "amount": CARD_AMOUNT,
            "payment_method": "pm_card_visa",
        }
        headers = self.headers | {"Idempotency-Key": str(uuid4())}
        with self.client.post(
            "/api/v1/payments",
            json=body,
            name="/api/v1/payments (card)",
            headers=headers,
            catch_response=True,
        ) as response:
            payment = back_office._json_or_fail(response)
            if isinstance(payment, dict) and payment.get("state") != "succeeded":
                response.failure(f"card payment {payment.get('state')}")


class EveningShape(LoadTestShape):
    """Everyone at once (one user per iPad, tab and terminal), until the timeline's end. The
    rate within comes from the timeline's multiplier, which every user's pause reads."""

    def tick(self) -> tuple[int, float] | None:
        if self.get_run_time() >= TIMELINE.end:
            return None
        users = len(TENANT.tills) + BACK_OFFICE_USERS + CARD_TERMINALS
        return users, users


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat()
