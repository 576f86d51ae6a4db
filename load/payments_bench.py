"""``make bench``, third part: taking payments and receiving webhooks, against the fakes.

Everything stays on 127.0.0.1 and every loop is bounded in count and time:

1. a throwaway PostgreSQL cluster, ``fynlo db migrate`` and ``fynlo demo --load``, then one
   ``fynlo serve`` (a single uvicorn worker) on a free port with ``FYNLO_PAYMENT_FAKES=true``:
   the server starts the fake Stripe and the pay-by-bank sandbox in its own process and
   points its providers at them (``server/payments/fakes/dev.py``). Their addresses come
   from the server's log;
2. orders of 2500p each, one per payment, are written straight into the database through
   ``save_order``, and the demo owner gets an access token in process (the server's key
   file is shared);
3. ``PAYMENTS_BENCH_CONCURRENCY`` clients (default 10) send, per phase, a warm-up of one
   request each and then ``PAYMENTS_BENCH_REQUESTS`` requests (default 200), stopping early
   once the phase has run ``PAYMENTS_BENCH_PHASE_SECONDS`` (default 15):

   - **cash**: ``POST /api/v1/payments`` with a fresh ``Idempotency-Key``, the floor of our
     own path (key row, payment row, ledger, order settled, stored answer);
   - **card, charged at once**: ``payment_method: pm_card_visa``, through the Stripe SDK to
     the fake (create and confirm: two round trips);
   - **pay-by-bank QR**: ``method: open_banking``, a signed request to the sandbox;
   - **idempotent replay**: every cash request again, same key and body, which must answer
     the first answer byte for byte;
   - **card, left waiting**: no ``payment_method`` (one round trip);
   - **card confirmed at the fake, settled by its webhook**: each waiting payment confirmed
     directly at the fake with the SDK, as the customer's card form would, timed until the
     server, told only by the fake's own signed webhook, shows it succeeded with Stripe's
     fee (one query every 10 ms watches for all clients). A closed loop: the fake delivers
     webhooks without any bound, so confirming faster than the server settles would pile
     them up in the one process they share;
   - **Stripe webhook, first delivery**: the fake's recorded, signed
     ``payment_intent.succeeded`` deliveries POSTed to ``/api/v1/payments/webhooks/stripe``
     after rewinding those payments (back to ``awaiting_customer``, orders open, event ids
     forgotten), so the server does the whole work again: verify, record the event, move
     the payment, settle the order, fetch Stripe's fee;
   - **Stripe webhook, duplicate**: the same deliveries again, acknowledged as duplicates.

4. correctness at the end: every answer as expected, no 5xx, exactly one PaymentIntent and
   one succeeded charge at the fake per card payment, no sandbox payment for a QR before
   the payer gives their details, the ledger's states and paid orders as sent, every
   webhook the fake sent acknowledged, no ERROR in the server's log.

Prints a markdown report with the machine, the settings and the figures, and records through
``load/results.py`` cash and card throughput (card beside cash, the floor of our own path),
the first webhook delivery's, and the correctness checks. The issue sets no target for
payments: slowness is reported, never an error. ``BENCH_QUICK=1`` sends 30 requests per
phase, capped at 2 s. Exits 1 when the run itself
breaks or a correctness check fails. Every process started here is stopped on the way out,
on failure and on SIGTERM too (the process handling of ``load/bench.py``, reused from
``load/sync_bench.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import re
import resource
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import msgspec

from load import database, machine, processes
from load.processes import BenchBroken
from load.results import Result, record
from load.sync_bench import (
    BIN,
    REPO,
    Cpu,
    _all,
    _percentile,
    _within,
)

AMOUNT = 2500
"""Every order's total and every payment's amount, in pence."""
TENDERED = 3000
VAT_BP = 2000
ORDER_PREFIX = "PB"
ORDER_WRITERS = 4
TEST_CARD = "pm_card_visa"
PAYMENTS = "/api/v1/payments"
STRIPE_WEBHOOKS = "/api/v1/payments/webhooks/stripe"
FAKES_LINE = re.compile(
    r"fake payment providers: Stripe at (http://127\.0\.0\.1:\d+),"
    r" pay-by-bank sandbox at (http://127\.0\.0\.1:\d+)"
)

# The owner's access token lasts 15 minutes; the measurements must fit in it.
MEASURE_SECONDS = 600
REQUEST_SECONDS = 30
SETTLE_SECONDS = 30
WATCH_SECONDS = 0.01
TOKEN_SECONDS = 900
# The deliveries replayed in the two webhook phases were signed when the confirmation phase
# ran; Stripe's SDK refuses a signature over 300 s old (server/payments/providers/stripe.py).
# Three capped phases and the settling must fit in that.
MAX_PHASE_SECONDS = 60

Job = Callable[[], Awaitable[tuple[int, str | None]]]
"""One request: the HTTP status it got (0 for none) and what was wrong with it, if anything."""


@dataclass(frozen=True)
class Sizes:
    requests: int
    concurrency: int
    phase_seconds: int


@dataclass
class Phase:
    """One measured phase: requests sent by ``concurrency`` clients until done or capped."""

    label: str
    planned: int
    latencies_ms: list[float] = field(default_factory=list)
    ok: int = 0
    server_errors: int = 0
    problems: Counter[str] = field(default_factory=Counter)
    wall: float = 0.0
    capped: bool = False
    cpu: Cpu | None = None

    @property
    def requests(self) -> int:
        return len(self.latencies_ms)

    @property
    def per_second(self) -> float:
        return self.requests / self.wall if self.wall > 0 else 0.0

    def ms(self, q: int) -> float | None:
        return _percentile(self.latencies_ms, q) if self.latencies_ms else None


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class Measured:
    phases: dict[str, Phase]
    checks: list[Check]
    confirm_ms: list[float]
    """How long each confirmation at the fake took, within the settled-by-webhook phase."""
    delivery_attempts: dict[str, Counter[str]]


@dataclass
class Run:
    measured: Measured
    log_lines: Counter[tuple[str, str, str]]
    wall_seconds: float
    server_exit: int | None
    loadavg_before: str
    loadavg_after: str


@dataclass
class Paid:
    """A payment a phase made: what was sent and what came back, for later phases."""

    key: str
    body: bytes
    answer: bytes
    payment_id: UUID


def main() -> int:
    sizes = Sizes(
        requests=machine.env_int("PAYMENTS_BENCH_REQUESTS", 30 if machine.quick() else 200),
        concurrency=machine.env_int("PAYMENTS_BENCH_CONCURRENCY", 10),
        phase_seconds=machine.env_int("PAYMENTS_BENCH_PHASE_SECONDS", 2 if machine.quick() else 15),
    )
    if sizes.phase_seconds > MAX_PHASE_SECONDS:
        print(
            f"PAYMENTS_BENCH_PHASE_SECONDS={sizes.phase_seconds} is over {MAX_PHASE_SECONDS}: "
            "the replayed webhooks' signatures would expire (see load/payments_bench.py)",
            file=sys.stderr,
        )
        return 2
    return processes.run_bench("payments bench", lambda: _measure_and_report(sizes))


def _measure_and_report(sizes: Sizes) -> int:
    started = datetime.now(UTC)
    run = _bench(sizes)
    print(_report(run, sizes=sizes, started=started))
    _record(run.measured)
    failed = [check.name for check in run.measured.checks if not check.ok]
    if failed:
        print(f"payments bench: correctness checks failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


# ---------------------------------------------------------------------------------------
# Processes: the cluster, fynlo's one-off commands and the server (load/sync_bench.py's)


def _bench(sizes: Sizes) -> Run:
    began = time.monotonic()
    loadavg_before = machine.loadavg()
    with (
        tempfile.TemporaryDirectory(prefix="fynlo-payments-bench-") as scratch,
        database.demo_cluster() as cluster,
    ):
        work = Path(scratch)
        port = processes.free_port()
        key_file = work / "keys" / "signing.jwks.json"
        env = processes.server_env(
            dsn=cluster.dsn, port=port, data_dir=work / "data", key_file=key_file
        )
        env["FYNLO_PAYMENT_FAKES"] = "true"
        database.load_demo(env, failure=BenchBroken)
        server_log = work / "server.log"
        with server_log.open("w") as log:
            server = processes.start([str(BIN / "fynlo"), "serve"], cwd=REPO, env=env, log=log)
        try:
            processes.wait_ready(
                f"http://127.0.0.1:{port}/ready", server, server_log, failure=BenchBroken
            )
            stripe_url, bank_url = _fake_urls(server_log)
            try:
                measured = asyncio.run(
                    _within(
                        MEASURE_SECONDS,
                        "the measurements",
                        _measure(
                            dsn=cluster.dsn,
                            base=f"http://127.0.0.1:{port}",
                            stripe_url=stripe_url,
                            bank_url=bank_url,
                            key_file=key_file,
                            server_pid=server.pid,
                            postmaster=cluster.pid,
                            sizes=sizes,
                        ),
                    )
                )
            except (BenchBroken, httpx.HTTPError, asyncpg.PostgresError, OSError) as exc:
                raise BenchBroken(f"{exc!r}{processes.tail(server_log)}") from exc
            if server.poll() is not None:
                raise BenchBroken(f"the server died during the run{processes.tail(server_log)}")
        finally:
            server_exit = processes.stop(server)
        log_lines = _log_lines(server_log)
    errors = sum(n for (level, *_), n in log_lines.items() if level in ("ERROR", "CRITICAL"))
    measured.checks.append(
        Check("no ERROR in the server's log", errors == 0, f"{errors} ERROR or CRITICAL lines")
    )
    return Run(
        measured,
        log_lines,
        time.monotonic() - began,
        server_exit,
        loadavg_before,
        machine.loadavg(),
    )


def _fake_urls(server_log: Path) -> tuple[str, str]:
    """The fake Stripe's and the sandbox's addresses, from the server's start-up warning."""
    found = FAKES_LINE.search(server_log.read_text(errors="replace"))
    if found is None:
        raise BenchBroken(f"the server did not log its fake providers{processes.tail(server_log)}")
    return found[1], found[2]


def _log_lines(server_log: Path) -> Counter[tuple[str, str, str]]:
    """WARNING and worse in the server's JSON log, by level, logger and message."""
    lines: Counter[tuple[str, str, str]] = Counter()
    for line in server_log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            if line.strip():
                lines["OTHER", "stderr", line.strip()[:160]] += 1
            continue
        if not isinstance(entry, dict) or FAKES_LINE.search(str(entry.get("message", ""))):
            continue
        level = str(entry.get("level", ""))
        if level in ("WARNING", "ERROR", "CRITICAL"):
            message = str(entry.get("message", ""))
            if "reason" in entry:
                message += f" ({entry['reason']})"
            lines[level, str(entry.get("logger", "")), message[:160]] += 1
    return lines


# ---------------------------------------------------------------------------------------
# The measurements, in this process


async def _measure(
    *,
    dsn: str,
    base: str,
    stripe_url: str,
    bank_url: str,
    key_file: Path,
    server_pid: int,
    postmaster: int | None,
    sizes: Sizes,
) -> Measured:
    from server.db import engine

    def cpu() -> Cpu:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return Cpu(
            machine.cpu_seconds(server_pid),
            machine.postgres_cpu_seconds(postmaster),
            usage.ru_utime + usage.ru_stime,
        )

    warmup = sizes.concurrency
    per_phase = warmup + sizes.requests
    phases: dict[str, Phase] = {}

    async def measure(name: str, label: str, jobs: Sequence[Job], *, finish: bool = False) -> None:
        """A warm-up of one request per client, then the measured requests; with ``finish``,
        whatever the time cap left is then sent unmeasured, so later phases find it done."""
        warm = await _run("warm-up", jobs[:warmup], sizes=sizes, capped=False)
        _unbroken(warm, label)
        before = cpu()
        phase = await _run(label, jobs[warmup:], sizes=sizes, capped=True)
        phase.cpu = cpu() - before
        phases[name] = phase
        if finish and phase.capped:
            left = jobs[warmup + phase.requests :]
            _unbroken(await _run("catch-up", left, sizes=sizes, capped=False), label)

    engine.configure(dsn)
    await engine.open_pool(min_size=1, max_size=ORDER_WRITERS)
    try:
        assert engine.DB.pool is not None
        pool: asyncpg.Pool = engine.DB.pool
        token = await _within(
            processes.SETUP_SECONDS, "the owner's token", _owner_token(pool, key_file)
        )
        orders = await _within(
            processes.SETUP_SECONDS, "writing the orders", _make_orders(pool, count=4 * per_phase)
        )
        cash_orders, card_orders, qr_orders, waiting_orders = (
            orders[i * per_phase : (i + 1) * per_phase] for i in range(4)
        )
        limits = httpx.Limits(max_connections=sizes.concurrency + 2, max_keepalive_connections=None)
        async with httpx.AsyncClient(base_url=base, timeout=REQUEST_SECONDS, limits=limits) as http:
            tills = _Tills(http, token)
            await measure("cash", "Cash", [tills.cash(o) for o in cash_orders])
            await measure("card", "Card, charged at once", [tills.card(o) for o in card_orders])
            await measure("qr", "Pay-by-bank QR", [tills.qr(o) for o in qr_orders])
            await measure(
                "replay", "Idempotent replay (cash)", [tills.replay(p) for p in tills.cash_paid]
            )
            await measure(
                "waiting", "Card, left waiting", [tills.waiting(o) for o in waiting_orders]
            )
            webhooks = _Webhooks(http, pool, stripe_url)
            try:
                references = await webhooks.references(tills.waiting_paid)
                async with webhooks.watching():
                    await measure(
                        "settled",
                        "Card confirmed at the fake, settled by its webhook",
                        [webhooks.confirm(paid, ref) for paid, ref in references],
                        finish=True,
                    )
            finally:
                await webhooks.close()
            await webhooks.acknowledged()
            deliveries = await webhooks.succeeded_deliveries(tills.waiting_paid)
            await webhooks.rewind(deliveries)
            await measure(
                "first",
                "Stripe webhook, first delivery",
                [webhooks.deliver(d, duplicate=False) for d in deliveries],
                finish=True,
            )
            await measure(
                "duplicate",
                "Stripe webhook, duplicate",
                [webhooks.deliver(d, duplicate=True) for d in deliveries],
            )
            checks = [_answers_check(phases)]
            checks += await _checks(http, pool, tills, webhooks, stripe_url, bank_url)
            attempts = await webhooks.attempts(
                {
                    "card payments charged at once": tills.card_paid,
                    "card payments confirmed at the fake": tills.waiting_paid,
                }
            )
    finally:
        await engine.close_pool()
    return Measured(phases, checks, webhooks.confirm_ms, attempts)


def _unbroken(phase: Phase, label: str) -> None:
    """Unmeasured requests (warm-up, catch-up) must all succeed, or the run is broken."""
    if phase.problems:
        problem, _ = phase.problems.most_common(1)[0]
        raise BenchBroken(f"{label}, {phase.label}: {problem}")


def _answers_check(phases: dict[str, Phase]) -> Check:
    failures = sum(sum(p.problems.values()) for p in phases.values())
    server_errors = sum(p.server_errors for p in phases.values())
    return Check(
        "every request answered as expected",
        failures == 0 and server_errors == 0,
        f"{failures} unexpected answers, {server_errors} of them 5xx",
    )


async def _owner_token(pool: asyncpg.Pool, key_file: Path) -> str:
    """An access token for the demo owner, signed with the key file the server uses."""
    from server.auth.keys import SigningKeys
    from server.auth.tables import Role
    from server.auth.tokens import Caller, issue_access_token
    from server.demo import RESTAURANT_ID
    from server.settings import Settings

    async with pool.acquire() as conn:
        owner = await conn.fetchval(
            "SELECT id FROM users WHERE restaurant_id = $1 AND role = 'owner'"
            " ORDER BY email LIMIT 1",
            RESTAURANT_ID,
        )
    if owner is None:
        raise BenchBroken("the demo restaurant has no owner")
    keys = SigningKeys.load_or_create(key_file)  # the file the server created at start-up
    caller = Caller(user_id=owner, restaurant_id=RESTAURANT_ID, role=Role.owner)
    issuer = Settings(signing_key_file=key_file).jwt_issuer
    return issue_access_token(keys, caller, issuer=issuer, ttl=TOKEN_SECONDS)


async def _make_orders(pool: asyncpg.Pool, *, count: int) -> list[UUID]:
    """``count`` open orders of one 2500p line each, priced and stored by ``save_order``."""
    from server.demo import LOCATION_ID, RESTAURANT_ID
    from server.orders.numbers import format_order_number
    from server.orders.services import save_order

    order_ids = [uuid4() for _ in range(count)]
    pending = iter(enumerate(order_ids, start=1))
    opened = datetime.now(UTC) - timedelta(minutes=30)

    async def writer() -> None:
        for seq, order_id in pending:
            order = {
                "id": order_id,
                "restaurant_id": RESTAURANT_ID,
                "location_id": LOCATION_ID,
                "number": format_order_number(ORDER_PREFIX, seq),
                "device_prefix": ORDER_PREFIX,
                "device_seq": seq,
                "status": "open",
                "opened_at": opened,
                "service_charge_bp": 0,
                "tip": 0,
            }
            line = {
                "id": uuid4(),
                "restaurant_id": RESTAURANT_ID,
                "order_id": order_id,
                "name": "Set menu",
                "unit_price": AMOUNT,
                "quantity": 1,
                "vat_rate_bp": VAT_BP,
                "modifiers": [],
                "voided": False,
                "position": 0,
            }
            await save_order(order, [line])

    await _all(*(writer() for _ in range(ORDER_WRITERS)))
    async with pool.acquire() as conn:
        ready = await conn.fetchval(
            "SELECT count(*) FROM orders WHERE id = ANY($1::uuid[])"
            " AND total_due = $2 AND status = 'open'",
            order_ids,
            AMOUNT,
        )
        await conn.execute("ANALYZE orders")
    if ready != count:
        raise BenchBroken(f"{ready} of {count} orders were stored open at {AMOUNT}p")
    return order_ids


async def _run(label: str, jobs: Sequence[Job], *, sizes: Sizes, capped: bool) -> Phase:
    """Send ``jobs`` from ``concurrency`` clients; stop taking new ones past the time cap."""
    phase = Phase(label=label, planned=len(jobs))
    pending = iter(jobs)
    began = time.perf_counter()
    deadline = began + sizes.phase_seconds if capped else began + MEASURE_SECONDS

    async def client() -> None:
        for job in pending:
            if time.perf_counter() >= deadline:
                phase.capped = True
                return
            sent = time.perf_counter()
            try:
                status, problem = await job()
            except httpx.TransportError as exc:
                status, problem = 0, f"no answer: {exc!r}"
            phase.latencies_ms.append((time.perf_counter() - sent) * 1000)
            phase.server_errors += status >= 500
            if problem is None:
                phase.ok += 1
            else:
                phase.problems[problem[:200]] += 1

    if jobs:
        await _all(*(client() for _ in range(min(sizes.concurrency, len(jobs)))))
    phase.wall = time.perf_counter() - began
    return phase


class _Tills:
    """The till's side: payment requests, each checked, and what they made."""

    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self.http = http
        self.auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.cash_paid: list[Paid] = []
        self.card_paid: list[Paid] = []
        self.qr_paid: list[Paid] = []
        self.waiting_paid: list[Paid] = []

    def cash(self, order_id: UUID) -> Job:
        body = {"method": "cash", "amount": AMOUNT, "tendered": TENDERED}
        return self._create(order_id, body, self.cash_paid, _paid_in_cash)

    def card(self, order_id: UUID) -> Job:
        body = {"method": "card", "amount": AMOUNT, "payment_method": TEST_CARD}
        return self._create(order_id, body, self.card_paid, _charged)

    def qr(self, order_id: UUID) -> Job:
        body = {"method": "open_banking", "amount": AMOUNT}
        return self._create(order_id, body, self.qr_paid, _showing_qr)

    def waiting(self, order_id: UUID) -> Job:
        body = {"method": "card", "amount": AMOUNT}
        return self._create(order_id, body, self.waiting_paid, _waiting_for_card)

    def replay(self, first: Paid) -> Job:
        async def job() -> tuple[int, str | None]:
            answer = await self.http.post(
                PAYMENTS, content=first.body, headers={**self.auth, "Idempotency-Key": first.key}
            )
            if answer.status_code != 201:
                return answer.status_code, f"HTTP {answer.status_code}: {answer.text[:160]}"
            if answer.content != first.answer:
                return answer.status_code, "the replay differs from the first answer"
            return answer.status_code, None

        return job

    def _create(
        self,
        order_id: UUID,
        fields: dict[str, Any],
        made: list[Paid],
        expected: Callable[[dict[str, Any]], str | None],
    ) -> Job:
        key = str(uuid4())
        body = msgspec.json.encode({"order_id": str(order_id), **fields})

        async def job() -> tuple[int, str | None]:
            answer = await self.http.post(
                PAYMENTS, content=body, headers={**self.auth, "Idempotency-Key": key}
            )
            if answer.status_code != 201:
                return answer.status_code, f"HTTP {answer.status_code}: {answer.text[:160]}"
            payment = msgspec.json.decode(answer.content)
            problem = expected(payment)
            if problem is None:
                made.append(Paid(key, body, answer.content, UUID(payment["id"])))
            return answer.status_code, problem

        return job


async def _reopen_order(conn: asyncpg.Connection, restaurant_id: UUID, order_id: UUID) -> None:
    from server.sync import store

    key = ("order", order_id)
    current = (await store.lock(conn, restaurant_id, [key]))[key]
    await store.server_change(
        conn,
        restaurant_id=restaurant_id,
        entity_type="order",
        entity_id=order_id,
        location_id=current.location_id,
        data={"status": "sent", "closed_at": None},
        current=current,
    )


def _paid_in_cash(payment: dict[str, Any]) -> str | None:
    if payment["state"] != "succeeded" or payment["change"] != TENDERED - AMOUNT:
        return f"cash answered state {payment['state']}, change {payment['change']}"
    return None


def _charged(payment: dict[str, Any]) -> str | None:
    # Stripe's own fee comes later with charge.updated (docs/payments.md), so a card payment
    # succeeds with its estimate shown and ``provider_fee`` still null.
    estimate = payment["fees"]["estimated_provider_fee"]
    if payment["state"] != "succeeded" or estimate <= 0:
        return f"card answered state {payment['state']}, estimated fee {estimate}"
    return None


def _showing_qr(payment: dict[str, Any]) -> str | None:
    if payment["state"] != "awaiting_customer" or not (payment["qr"] or {}).get("link"):
        return f"pay-by-bank answered state {payment['state']} without a QR link"
    return None


def _waiting_for_card(payment: dict[str, Any]) -> str | None:
    if payment["state"] != "awaiting_customer" or not payment["client_secret"]:
        return f"waiting card answered state {payment['state']} without a client secret"
    return None


@dataclass(frozen=True)
class Delivery:
    """A signed webhook the fake Stripe recorded, as it sent it."""

    event_id: str
    payment_id: UUID
    payload: bytes
    headers: dict[str, str]


class _Webhooks:
    """The customer's side at the fake Stripe, and the fake's signed deliveries to us."""

    def __init__(self, http: httpx.AsyncClient, pool: asyncpg.Pool, stripe_url: str) -> None:
        from server.payments.providers.stripe import StripeProvider

        self.http = http
        self.pool = pool
        self.stripe_url = stripe_url
        self.confirm_ms: list[float] = []
        self._watched: dict[UUID, asyncio.Future[None]] = {}
        # The SDK as a customer's card form would use it; no webhook comes this way.
        self.stripe = StripeProvider(
            api_key="sk_test_payments_bench",
            webhook_secret="",  # this side never verifies a webhook
            api_base=stripe_url,
            timeout_seconds=REQUEST_SECONDS,
        )

    async def close(self) -> None:
        await self.stripe.aclose()

    async def references(self, waiting: Sequence[Paid]) -> list[tuple[Paid, str]]:
        """Each waiting payment with its PaymentIntent's id at the fake."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT id, provider_reference FROM payments WHERE id = ANY($1::uuid[])"
                " AND provider_reference IS NOT NULL",
                [paid.payment_id for paid in waiting],
            )
        references = {row["id"]: row["provider_reference"] for row in rows}
        if len(references) != len(waiting):
            raise BenchBroken(f"{len(rows)} of {len(waiting)} waiting payments have a reference")
        return [(paid, references[paid.payment_id]) for paid in waiting]

    def confirm(self, paid: Paid, reference: str) -> Job:
        """The customer confirms at the fake; done when the server has settled the payment
        from the fake's webhook (succeeded, with Stripe's fee), as ``watching`` sees it."""
        from server.payments.providers.base import ProviderRefused, ProviderUnavailable
        from server.payments.states import PaymentState

        async def job() -> tuple[int, str | None]:
            settled = self._watched[paid.payment_id] = asyncio.get_running_loop().create_future()
            sent = time.perf_counter()
            try:
                result = await self.stripe.confirm(reference, TEST_CARD)
            except (ProviderRefused, ProviderUnavailable) as exc:
                return 0, f"the fake refused the confirmation: {exc!r}"
            self.confirm_ms.append((time.perf_counter() - sent) * 1000)
            if result.state is not PaymentState.succeeded:
                return 200, f"the fake confirmed {reference} as {result.state}"
            try:
                await asyncio.wait_for(settled, SETTLE_SECONDS)
            except TimeoutError:
                return 200, f"no webhook settled {paid.payment_id} within {SETTLE_SECONDS}s"
            return 200, None

        return job

    @contextlib.asynccontextmanager
    async def watching(self) -> AsyncIterator[None]:
        """Meanwhile, every ``WATCH_SECONDS`` one query resolves the watched payments that
        have been settled (one query whatever the concurrency, so PostgreSQL hardly notices)."""

        async def poll() -> None:
            while True:
                pending = [pid for pid, done in self._watched.items() if not done.done()]
                if pending:
                    async with self.pool.acquire() as conn:
                        rows = await conn.fetch(
                            "SELECT id FROM payments WHERE id = ANY($1::uuid[])"
                            " AND state = 'succeeded' AND provider_fee IS NOT NULL",
                            pending,
                        )
                    for row in rows:
                        self._watched[row["id"]].set_result(None)
                await asyncio.sleep(WATCH_SECONDS)

        poller = asyncio.create_task(poll())
        try:
            yield
        finally:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller

    async def acknowledged(self) -> None:
        """Wait, at most ``SETTLE_SECONDS``, until every delivery so far was acknowledged
        (the fake retries any other), so none arrives after the rewind."""
        deadline = time.monotonic() + SETTLE_SECONDS
        while True:
            recorded = await self.recorded()
            waiting = [d for d in recorded if not d["delivered"]]
            if not waiting:
                return
            if time.monotonic() > deadline:
                attempts = Counter(a for d in waiting for a in d["attempts"])
                raise BenchBroken(
                    f"after {SETTLE_SECONDS}s {len(waiting)} of {len(recorded)} webhook "
                    f"deliveries were still unacknowledged, their attempts: {_counts(attempts)}"
                )
            await asyncio.sleep(0.2)

    async def succeeded_deliveries(self, settled: Sequence[Paid]) -> list[Delivery]:
        """The recorded ``payment_intent.succeeded`` delivery of each settled payment."""
        wanted = {paid.payment_id for paid in settled}
        found: list[Delivery] = []
        for recorded in await self.recorded():
            if recorded["type"] != "payment_intent.succeeded":
                continue
            event = json.loads(recorded["payload"])
            payment_id = UUID(event["data"]["object"]["metadata"]["payment_id"])
            if payment_id in wanted:
                found.append(
                    Delivery(
                        recorded["event_id"],
                        payment_id,
                        recorded["payload"].encode(),
                        recorded["headers"],
                    )
                )
        if len(found) != len(wanted):
            raise BenchBroken(f"the fake recorded {len(found)} of {len(wanted)} succeeded events")
        return found

    async def rewind(self, deliveries: Sequence[Delivery]) -> None:
        """Put these payments back as they were before their webhooks came: waiting, their
        orders open, their event ids unseen; so a replay does the first delivery's work."""
        payment_ids = [d.payment_id for d in deliveries]
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "DELETE FROM provider_events WHERE provider = 'stripe'"
                " AND event_id = ANY($1::text[])",
                [d.event_id for d in deliveries],
            )
            # Through the sync store, as the ledger reopens an order, so the order's synced
            # state and its projection agree and the replay settles it again.
            orders = await conn.fetch(
                "SELECT restaurant_id, order_id FROM payments WHERE id = ANY($1::uuid[])",
                payment_ids,
            )
            for row in orders:
                await _reopen_order(conn, row["restaurant_id"], row["order_id"])
            await conn.execute(
                "UPDATE payments SET state = 'awaiting_customer', succeeded_at = NULL,"
                " provider_fee = NULL, updated_at = now() WHERE id = ANY($1::uuid[])",
                payment_ids,
            )

    def deliver(self, delivery: Delivery, *, duplicate: bool) -> Job:
        expected = {"received": True, "duplicate": duplicate}

        async def job() -> tuple[int, str | None]:
            # As the fake sent it: its body and signature, no bearer token.
            answer = await self.http.post(
                STRIPE_WEBHOOKS, content=delivery.payload, headers=delivery.headers
            )
            if answer.status_code != 200:
                return answer.status_code, f"HTTP {answer.status_code}: {answer.text[:160]}"
            if answer.json() != expected:
                return answer.status_code, f"webhook answered {answer.text[:160]}"
            return answer.status_code, None

        return job

    async def attempts(self, groups: dict[str, Sequence[Paid]]) -> dict[str, Counter[str]]:
        """Every delivery attempt the fake made to the server, by outcome, per group of
        payments (an HTTP status, or the error that stopped the fake's client)."""
        group_of = {
            paid.payment_id: name for name, paid_list in groups.items() for paid in paid_list
        }
        attempts: dict[str, Counter[str]] = {name: Counter() for name in groups}
        for recorded in await self.recorded():
            about = json.loads(recorded["payload"])["data"]["object"]
            payment_id = about.get("metadata", {}).get("payment_id")
            group = group_of.get(UUID(payment_id)) if payment_id else None
            attempts.setdefault(group or "other", Counter()).update(recorded["attempts"])
        return attempts

    async def recorded(self) -> list[dict[str, Any]]:
        """Every signed delivery the fake has made so far, with its attempts."""
        answer = await self.http.get(f"{self.stripe_url}/_fake/webhooks")
        answer.raise_for_status()
        recorded: list[dict[str, Any]] = answer.json()
        return recorded


async def _checks(
    http: httpx.AsyncClient,
    pool: asyncpg.Pool,
    tills: _Tills,
    webhooks: _Webhooks,
    stripe_url: str,
    bank_url: str,
) -> list[Check]:
    """What must hold after the run, whatever the figures."""
    checks = []
    card_ids = {str(p.payment_id) for p in tills.card_paid + tills.waiting_paid}
    stripe = (await http.get(f"{stripe_url}/_fake/stats")).json()
    per_payment = stripe["by_payment_id"]
    wrong = [
        pid
        for pid in card_ids
        if per_payment.get(pid, {}).get("payment_intents") != 1
        or per_payment.get(pid, {}).get("succeeded_charges") != 1
    ]
    checks.append(
        Check(
            "one PaymentIntent and one succeeded charge per card payment (fake Stripe)",
            not wrong and stripe["payment_intents"] == len(card_ids),
            f"{stripe['payment_intents']} PaymentIntents and {stripe['succeeded_charges']} "
            f"succeeded charges for {len(card_ids)} card payments; {len(wrong)} payments off",
        )
    )
    bank = (await http.get(f"{bank_url}/_sandbox/stats")).json()
    qr_ids = {str(p.payment_id) for p in tills.qr_paid}
    early = [pid for pid in qr_ids if bank["created_by_payment_id"].get(pid)]
    checks.append(
        Check(
            # TrueLayer needs the remitter's name, which only the payer gives, on our payer
            # page (docs/payments.md): a QR shown creates no payment at the provider yet.
            "no sandbox payment before the payer gives their details",
            not early,
            f"{len(early)} of {len(qr_ids)} QR payments already created at the sandbox",
        )
    )
    async with pool.acquire() as conn:
        states = {
            (row["method"], row["state"]): row["n"]
            for row in await conn.fetch(
                "SELECT p.method, p.state, count(*) AS n FROM payments p"
                " JOIN orders o ON o.id = p.order_id WHERE o.device_prefix = $1"
                " GROUP BY p.method, p.state",
                ORDER_PREFIX,
            )
        }
        paid_by_method = {
            row["method"]: row["n"]
            for row in await conn.fetch(
                "SELECT p.method, count(DISTINCT o.id) AS n FROM orders o"
                " JOIN payments p ON p.order_id = o.id"
                " WHERE o.device_prefix = $1 AND o.status = 'paid' GROUP BY p.method",
                ORDER_PREFIX,
            )
        }
        paid_orders = sum(paid_by_method.values())
        keys = await conn.fetchval(
            "SELECT count(*) FROM idempotency_keys k JOIN payments p ON p.id = k.resource_id"
            " JOIN orders o ON o.id = p.order_id"
            " WHERE o.device_prefix = $1 AND k.status_code IS NOT NULL",
            ORDER_PREFIX,
        )
    expected_states = {
        ("cash", "succeeded"): len(tills.cash_paid),
        ("card", "succeeded"): len(tills.card_paid) + len(tills.waiting_paid),
        ("open_banking", "awaiting_customer"): len(tills.qr_paid),
    }
    made = len(tills.cash_paid + tills.card_paid + tills.qr_paid + tills.waiting_paid)
    checks.append(
        Check(
            "the ledger holds what was sent (payments, paid orders, stored answers)",
            states == expected_states and paid_orders == made - len(tills.qr_paid) and keys == made,
            f"payments by method and state {dict(sorted(states.items()))}; "
            f"{paid_orders} orders paid (by method {paid_by_method}); {keys} answers stored"
            f" under {made} keys",
        )
    )
    recorded = await webhooks.recorded()
    unacknowledged = [d["event_id"] for d in recorded if not d["delivered"]]
    checks.append(
        Check(
            "every webhook the fake Stripe sent was acknowledged",
            not unacknowledged,
            f"{len(recorded) - len(unacknowledged)} of {len(recorded)} deliveries acknowledged",
        )
    )
    return checks


# ---------------------------------------------------------------------------------------
# The report


def _report(run: Run, *, sizes: Sizes, started: datetime) -> str:
    m = run.measured
    phases = m.phases
    cores = len(os.sched_getaffinity(0))
    lines = [
        f"## Fynlo payments bench, {started:%Y-%m-%d %H:%M} UTC",
        "",
        f"- Machine: {machine.describe()}",
        f"- Software: Python {platform.python_version()}, {machine.postgres_version()}; one "
        "`fynlo serve` (one uvicorn worker, pool of 10 connections) with "
        "`FYNLO_PAYMENT_FAKES=true`: the fake Stripe and the pay-by-bank sandbox run in "
        "threads of the server's process; throwaway non-durable PostgreSQL; the load "
        f"generator (httpx, this process) runs on the same {cores} CPUs",
        f"- Load: {sizes.concurrency} clients at once, closed loop; per phase a warm-up of "
        f"{sizes.concurrency} requests, then up to {sizes.requests} requests or "
        f"{sizes.phase_seconds} s; one order of {AMOUNT}p per payment, paid in full, as the "
        "demo owner",
        f"- Load average (1 min) before the run {run.loadavg_before}, after "
        f"{run.loadavg_after}; whole run {run.wall_seconds:.0f} s",
        "",
        "| Phase | Requests | OK | 5xx | req/s | p50 ms | p95 ms | p99 ms | Max ms "
        "| Server CPU ms/req |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(_table_line(phase) for phase in phases.values()),
        "",
    ]
    cash, card = phases.get("cash"), phases.get("card")
    if cash and card and cash.cpu and card.cpu and cash.requests and card.requests:
        cash_p50, card_p50 = cash.ms(50) or 0.0, card.ms(50) or 0.0
        cash_cpu = cash.cpu.server * 1000 / cash.requests
        card_cpu = card.cpu.server * 1000 / card.requests
        lines.append(
            f"Card against cash: p50 {card_p50:.1f} against {cash_p50:.1f} ms "
            f"(+{card_p50 - cash_p50:.1f} ms), {card.per_second:.0f} against "
            f"{cash.per_second:.0f} req/s ({cash.per_second / card.per_second:.1f}x fewer), "
            f"{card_cpu:.1f} against {cash_cpu:.1f} ms of the server process's CPU per payment. "
            "The provider's share: two calls to the fake Stripe through the SDK (create, "
            "confirm), the fake's own work and the three webhooks it sends back per payment, "
            "all in the server's one process."
        )
    if m.confirm_ms:
        lines.append(
            "Card confirmed at the fake: the confirmation itself (the SDK in this process to the "
            f"fake) took p50 {_percentile(m.confirm_ms, 50):.1f} ms, p95 "
            f"{_percentile(m.confirm_ms, 95):.1f} ms; the rest is the webhook reaching the "
            f"server and being applied (seen by polling every {WATCH_SECONDS * 1000:.0f} ms)."
        )
    lines += ["", "Webhook deliveries the fake Stripe made by itself, attempts by answer:", ""]
    lines += [f"- {group}: {_counts(counts)}" for group, counts in m.delivery_attempts.items()]
    lines += ["", "CPU per measured phase:", ""]
    lines += [_cpu_line(phase, cores) for phase in phases.values() if phase.cpu is not None]
    capped = [p.label for p in phases.values() if p.capped]
    if capped:
        lines += ["", f"Stopped at the {sizes.phase_seconds} s cap: {'; '.join(capped)}."]
    lines += ["", "| Correctness check | | Detail |", "|---|---|---|"]
    lines += [f"| {c.name} | {'PASS' if c.ok else '**FAIL**'} | {c.detail} |" for c in m.checks]
    problems = [(p.label, text, n) for p in phases.values() for text, n in p.problems.items()]
    if problems:
        lines += ["", "Unexpected answers (first 10):", ""]
        lines += [f"- {label}: {text} x{n}" for label, text, n in problems[:10]]
    if run.log_lines:
        lines += ["", "Server log, WARNING and worse:", ""]
        lines += [
            f"- {level} {logger}: {message} x{n}"
            for (level, logger, message), n in run.log_lines.most_common(10)
        ]
    if run.server_exit != 0:
        lines += ["", f"Warning: the server's exit after SIGTERM was {run.server_exit}."]
    return "\n".join(lines)


NO_TARGET = "none set (reported)"


def _record(measured: Measured) -> None:
    """The figures the summary shows: no target is set for payments, so they are all met."""
    phases = measured.phases
    cash = phases.get("cash")
    floor = cash.per_second if cash else None
    for name, target, with_floor in (
        ("cash", "cash payments (POST /payments)", False),
        ("card", "card payments charged at once, beside cash", True),
        ("first", "Stripe webhooks, first delivery", False),
    ):
        phase = phases.get(name)
        if phase is None:
            continue
        record(
            Result(
                bench="payments",
                target=target,
                measured=phase.per_second,
                unit="req/s",
                goal=NO_TARGET,
                met=True,
                floor=floor if with_floor else None,
            )
        )
    passed = sum(check.ok for check in measured.checks)
    record(
        Result(
            bench="payments",
            target="correctness checks",
            measured=passed,
            unit=f"of {len(measured.checks)}",
            goal="all pass",
            met=passed == len(measured.checks),
        )
    )


def _table_line(phase: Phase) -> str:
    figures = [_ms(phase.ms(q)) for q in (50, 95, 99)]
    worst = _ms(max(phase.latencies_ms)) if phase.latencies_ms else "n/a"
    per_request = (
        f"{phase.cpu.server * 1000 / phase.requests:.1f}" if phase.cpu and phase.requests else "n/a"
    )
    return (
        f"| {phase.label} | {phase.requests} | {phase.ok} | {phase.server_errors} | "
        f"{phase.per_second:.0f} | {' | '.join(figures)} | {worst} | {per_request} |"
    )


def _cpu_line(phase: Phase, cores: int) -> str:
    cpu = phase.cpu
    assert cpu is not None
    return (
        f"- {phase.label}: {phase.wall:.2f} s wall ({cores * phase.wall:.1f} CPU-s on {cores} "
        f"CPUs); server and fakes {cpu.server:.1f} CPU-s, PostgreSQL {cpu.postgres:.1f} CPU-s, "
        f"load generator {cpu.bench:.1f} CPU-s."
    )


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _counts(counts: Counter[str]) -> str:
    return ", ".join(f"{name} x{n}" for name, n in counts.most_common()) or "none"


if __name__ == "__main__":
    sys.exit(main())
