"""The restaurant evening's timeline (what the load shape plays) and the figures from it."""

from __future__ import annotations

import pytest

from load.evening import (
    BURST_FACTOR,
    DEVICES,
    Sample,
    Timeline,
    outside,
    percentile,
    recovery_seconds,
    window,
)


@pytest.mark.parametrize("timeline", [Timeline.full(), Timeline.quick()], ids=["full", "quick"])
def test_the_burst_runs_ten_times_the_rate_for_its_window_only(timeline: Timeline) -> None:
    assert BURST_FACTOR == 10
    assert timeline.multiplier(timeline.burst_start - 0.01) == 1
    assert timeline.multiplier(timeline.burst_start) == 10
    assert timeline.multiplier(timeline.burst_end - 0.01) == 10
    assert timeline.multiplier(timeline.burst_end) == 1
    assert timeline.ramp_end < timeline.burst_start < timeline.burst_end < timeline.end
    # There is time after the burst to watch the recovery in.
    assert timeline.end - timeline.burst_end >= 2 * timeline.rolling_seconds


@pytest.mark.parametrize("timeline", [Timeline.full(), Timeline.quick()], ids=["full", "quick"])
def test_the_storm_takes_several_ipads_offline_together_and_back_together(
    timeline: Timeline,
) -> None:
    inside = (timeline.storm_start + timeline.storm_end) / 2
    stormed = [d for d in range(DEVICES) if timeline.offline(d, inside)]
    assert stormed[: timeline.storm_devices] == list(range(timeline.storm_devices))
    assert timeline.storm_devices >= 2
    for device in range(timeline.storm_devices):
        assert not timeline.offline(device, timeline.storm_start - 0.01)
        assert timeline.offline(device, timeline.storm_start)
        assert not timeline.offline(device, timeline.storm_end)


@pytest.mark.parametrize("timeline", [Timeline.full(), Timeline.quick()], ids=["full", "quick"])
def test_lone_gaps_are_staggered_and_all_online_during_the_burst(timeline: Timeline) -> None:
    starts = [timeline.gap_start(d) for d in range(timeline.storm_devices, DEVICES)]
    gaps = [start for start in starts if start is not None]
    assert len(gaps) >= 3
    assert len(set(gaps)) == len(gaps)  # one at a time, not another storm
    assert all(timeline.ramp_end <= start for start in gaps)
    for now in (timeline.burst_start, (timeline.burst_start + timeline.burst_end) / 2):
        assert not any(timeline.offline(d, now) for d in range(DEVICES))


def test_percentile_is_a_latency_some_request_had() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.95) == 95.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([7.0], 0.5) == 7.0
    assert percentile([], 0.5) is None


def _samples(timeline: Timeline, slow_until: float) -> list[Sample]:
    """Ten requests a second: 500 ms until ``slow_until``, 10 ms after, one failure."""
    samples = []
    for tick in range(int(timeline.end * 10)):
        start = tick / 10
        ms = 500.0 if start < slow_until else 10.0
        samples.append(Sample(start, ms, "/x", failed=tick == 3 * 10 * 10))
    return samples


def test_recovery_is_the_time_until_the_rolling_p95_is_back_within_the_gate() -> None:
    timeline = Timeline.full()
    slow_until = timeline.burst_end + 4
    recovery = recovery_seconds(_samples(timeline, slow_until), timeline)
    # The rolling window holds only fast requests once it has slid past the slow ones; its
    # p95 is within the gate when under 5% of its requests are slow.
    assert recovery is not None
    assert 4 + timeline.rolling_seconds * 0.9 <= recovery <= 4 + timeline.rolling_seconds


def test_recovery_is_zero_when_the_burst_ends_within_the_gate() -> None:
    timeline = Timeline.quick()
    assert recovery_seconds(_samples(timeline, slow_until=0), timeline) == 0


def test_no_recovery_when_the_run_ends_slow() -> None:
    timeline = Timeline.quick()
    assert recovery_seconds(_samples(timeline, slow_until=timeline.end + 1), timeline) is None


def test_windows_split_the_evening_around_the_burst() -> None:
    timeline = Timeline.full()
    samples = _samples(timeline, slow_until=timeline.burst_end)
    burst = window(samples, "burst", timeline.burst_start, timeline.burst_end)
    calm = outside(samples, timeline)

    assert burst.requests == 10 * (timeline.burst_end - timeline.burst_start)
    assert burst.p50 == 500.0
    burst_and_ramp = (timeline.burst_end - timeline.burst_start) + timeline.ramp_end
    assert calm.requests == 10 * (timeline.end - burst_and_ramp)
    assert calm.failures == 1  # the failure at 30 s is outside the burst
    assert calm.per_second == pytest.approx(10.0)
