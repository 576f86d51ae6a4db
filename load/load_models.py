"""Two ways to load a server with prepared requests: closed (as fast as N connections go)
and open (a fixed arrival rate, timed from when each request was due).

Both are bounded in count and in time. The open model times each request from its
scheduled moment, not from when a connection was free, so a stall is charged to every
request that arrived during it (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from dataclasses import dataclass, field

from load.http_client import Client, now

SLACK_SECONDS = 10.0
"""On top of a run's length: the last requests' deadline and some room."""


@dataclass
class Tally:
    """Latencies (seconds) of answered 2xx requests, and everything else by kind."""

    latencies: list[float] = field(default_factory=list)
    by_name: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0

    @property
    def answered(self) -> int:
        return len(self.latencies)

    @property
    def failed(self) -> int:
        return sum(self.errors.values())

    @property
    def rate(self) -> float:
        return self.answered / self.elapsed if self.elapsed else 0.0

    def record(self, name: str, status: int | None, seconds: float, error: str = "") -> None:
        if status is not None and 200 <= status < 300:
            self.latencies.append(seconds)
            self.by_name.setdefault(name, []).append(seconds)
        else:
            self.errors[error or f"HTTP {status}"] += 1


def percentile_ms(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000


async def _one(client: Client, name: str, request: bytes, due: float, tally: Tally) -> None:
    try:
        answer = await client.send(request)
    except Exception as exc:  # any failure is a counted error, never a crash
        tally.record(name, None, now() - due, error=type(exc).__name__)
        return
    tally.record(name, answer.status, now() - due)


async def closed(
    client: Client,
    mix: list[tuple[str, bytes]],
    *,
    connections: int,
    seconds: float,
    max_requests: int,
) -> Tally:
    """``connections`` loops, each sending the next request of ``mix`` when its answer is in."""
    tally = Tally()
    sequence = itertools.cycle(mix)
    sent = 0
    started = now()
    deadline = started + seconds

    async def loop() -> None:
        nonlocal sent
        while now() < deadline and sent < max_requests:
            sent += 1
            name, request = next(sequence)
            await _one(client, name, request, now(), tally)

    await asyncio.wait_for(
        asyncio.gather(*(loop() for _ in range(connections))), seconds + SLACK_SECONDS
    )
    tally.elapsed = now() - started
    return tally


async def open_rate(
    client: Client,
    mix: list[tuple[str, bytes]],
    *,
    rate: int,
    seconds: float,
    connections: int,
) -> Tally:
    """``rate`` requests a second for ``seconds``, on at most ``connections`` at once.

    A request that finds every connection busy waits for one, and that wait is in its
    latency; so is any lag of this scheduler behind the clock.
    """
    tally = Tally()
    sequence = itertools.cycle(mix)
    free = asyncio.Semaphore(connections)
    total = int(rate * seconds)
    started = now()
    tasks: list[asyncio.Task[None]] = []

    async def due_at(name: str, request: bytes, due: float) -> None:
        async with free:
            await _one(client, name, request, due, tally)

    for index in range(total):
        due = started + index / rate
        lag = due - now()
        if lag > 0.0005:
            await asyncio.sleep(lag)
        name, request = next(sequence)
        tasks.append(asyncio.create_task(due_at(name, request, due)))
    _, late = await asyncio.wait(tasks, timeout=SLACK_SECONDS)
    for task in late:  # the server fell this far behind: errors, not a hang
        task.cancel()
    tally.errors["unanswered after the run"] += len(late)
    if late:
        await asyncio.wait(late)
    tally.elapsed = now() - started
    return tally
