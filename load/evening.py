"""A restaurant evening: its timeline (what the load shape plays) and the figures drawn from it.

The timeline is plain data, so the locustfile, ``load/bench.py`` and the tests share it: when
the iPads go offline (a storm: several at once, reconnecting together; and single gaps), when
the 10x burst runs, when the run ends. Times are seconds from the start of the test.

The figures come from every request's (start, latency, failed), as the locustfile logs them:
percentiles per window and the recovery time after the burst, defined as the time from the
burst's end until the rolling p95 (requests started in the last ``rolling_seconds``) is back
within the gate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

DEVICES = 20
BURST_FACTOR = 10
# The latency and error SLO (reliability notes, F1), the gates of the whole evening.
GATE_P95_MS = 200.0
GATE_P99_MS = 400.0
GATE_ERROR_RATE = 0.01
GATE_RECOVERY_SECONDS = 10.0
# A rolling window with fewer requests than this says nothing about the p95.
MIN_WINDOW_REQUESTS = 5


@dataclass(frozen=True)
class Timeline:
    ramp_end: float
    """Users spawned and bootstrapped: measurement starts here."""
    storm_start: float
    storm_end: float
    storm_devices: int
    """iPads 0 .. storm_devices - 1 go offline together and reconnect together."""
    gap_seconds: float
    """Every third other iPad goes offline once, alone, for this long (staggered)."""
    burst_start: float
    burst_end: float
    end: float
    rolling_seconds: float

    @classmethod
    def full(cls) -> Timeline:
        return cls(
            ramp_end=5,
            storm_start=10,
            storm_end=30,
            storm_devices=6,
            gap_seconds=10,
            burst_start=45,
            burst_end=55,
            end=85,
            rolling_seconds=3,
        )

    @classmethod
    def quick(cls) -> Timeline:
        return cls(
            ramp_end=2,
            storm_start=3,
            storm_end=7,
            storm_devices=6,
            gap_seconds=2,
            burst_start=9,
            burst_end=12,
            end=20,
            rolling_seconds=1,
        )

    def multiplier(self, now: float) -> float:
        """How many times the normal rate every user runs at, ``now``."""
        return BURST_FACTOR if self.burst_start <= now < self.burst_end else 1

    def offline(self, device: int, now: float) -> bool:
        """Whether iPad number ``device`` (0-based) is offline ``now``."""
        if device < self.storm_devices:
            return self.storm_start <= now < self.storm_end
        start = self.gap_start(device)
        return start is not None and start <= now < start + self.gap_seconds

    def gap_start(self, device: int) -> float | None:
        """When a lone iPad's gap starts: every third iPad past the storm's, staggered over
        the time before the burst so that gaps and the burst never overlap."""
        if device < self.storm_devices or (device - self.storm_devices) % 3:
            return None
        span = self.burst_start - self.gap_seconds - self.ramp_end
        slot = (device - self.storm_devices) // 3
        slots = math.ceil((DEVICES - self.storm_devices) / 3)
        return self.ramp_end + span * slot / slots

    def window(self, name: str) -> tuple[float, float]:
        windows = {
            "before the burst": (self.ramp_end, self.burst_start),
            "burst (10x)": (self.burst_start, self.burst_end),
            "after the burst": (self.burst_end, self.end),
            "outside the burst": (self.ramp_end, self.end),
        }
        return windows[name]


@dataclass(frozen=True)
class Sample:
    """One request: when it started (seconds from the test's start), how long it took."""

    start: float
    ms: float
    name: str
    failed: bool


@dataclass(frozen=True)
class Window:
    label: str
    requests: int
    failures: int
    seconds: float
    p50: float | None
    p95: float | None
    p99: float | None

    @property
    def error_rate(self) -> float:
        return self.failures / self.requests if self.requests else 0.0

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..1): a latency some request really had."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def window(samples: Sequence[Sample], label: str, begin: float, end: float) -> Window:
    """The requests started in [begin, end)."""
    inside = [s for s in samples if begin <= s.start < end]
    return _window(label, inside, end - begin)


def outside(samples: Sequence[Sample], timeline: Timeline) -> Window:
    """Everything measured except the burst itself (the recovery after it included)."""
    inside = [
        s
        for s in samples
        if timeline.ramp_end <= s.start < timeline.end
        and not timeline.burst_start <= s.start < timeline.burst_end
    ]
    seconds = timeline.end - timeline.ramp_end - (timeline.burst_end - timeline.burst_start)
    return _window("outside the burst", inside, seconds)


def _window(label: str, inside: Sequence[Sample], seconds: float) -> Window:
    latencies = [s.ms for s in inside]
    return Window(
        label,
        len(inside),
        sum(s.failed for s in inside),
        seconds,
        percentile(latencies, 0.50),
        percentile(latencies, 0.95),
        percentile(latencies, 0.99),
    )


def recovery_seconds(
    samples: Sequence[Sample],
    timeline: Timeline,
    *,
    gate_ms: float = GATE_P95_MS,
    step: float = 0.1,
) -> float | None:
    """Seconds from the burst's end until the p95 of the requests started in the last
    ``rolling_seconds`` is within ``gate_ms`` (0 if it already is when the burst ends);
    None if it is not by the end of the run. Windows with fewer than
    ``MIN_WINDOW_REQUESTS`` requests are skipped: they show nothing either way."""
    ordered = sorted(samples, key=lambda s: s.start)
    steps = int((timeline.end - timeline.burst_end) / step)
    for index in range(steps + 1):
        now = timeline.burst_end + index * step
        latencies = [s.ms for s in ordered if now - timeline.rolling_seconds < s.start <= now]
        if len(latencies) < MIN_WINDOW_REQUESTS:
            continue
        p95 = percentile(latencies, 0.95)
        if p95 is not None and p95 <= gate_ms:
            return index * step
    return None
