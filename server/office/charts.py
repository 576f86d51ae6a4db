"""Charts as SVG drawn by the server: the geometry here, the markup in ``_chart_*.html``.

No charting library: nothing to serve or keep current, no script, and a chart that reads the
same with scripts off and in a screenshot. Each chart's numbers are also in a table beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from server.sync.activity import Minute
from server.sync.lag import DeviceLag

WIDTH = 960
HEIGHT = 200
"""About the size drawn on an iPad in landscape, so the text is drawn at its own size."""
LEFT, RIGHT, TOP, BOTTOM = 40, 36, 10, 24
LABEL_EVERY = 15
"""A time under the axis every quarter of an hour."""


class Rect(NamedTuple):
    x: float
    y: float
    width: float
    height: float
    series: str
    label: str


class Tick(NamedTuple):
    at: float
    text: str


class StackedChart(NamedTuple):
    width: int
    height: int
    bars: list[Rect]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    series: Sequence[str]
    plot_left: int
    plot_right: int
    plot_bottom: int
    total: int


class LagBar(NamedTuple):
    y: float
    width: float
    name: str
    value: str


class LagChart(NamedTuple):
    width: int
    height: int
    bars: list[LagBar]
    label_width: int
    row: int


LINE_COLOURS = 6
"""Lines take the stylesheet's colours ``l0`` to ``l5`` in turn (no colour in the markup)."""


class Line(NamedTuple):
    points: str
    """The polyline's ``points``: ``x,y`` pairs, oldest sample first."""
    colour: int
    name: str
    latest: str
    """The newest sample's figure, and where it is drawn (a dot: one sample is no line)."""
    end_x: float
    end_y: float


class LineChart(NamedTuple):
    width: int
    height: int
    lines: list[Line]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    plot_left: int
    plot_right: int


def nice_ceiling(value: int) -> int:
    """The least 1, 2 or 5 times a power of ten not below ``value``: round axis steps."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def stacked(minutes: Sequence[Minute], series: Sequence[str]) -> StackedChart:
    """One bar per minute, its answers stacked bottom up in ``series`` order."""
    top = nice_ceiling(max((m.total for m in minutes), default=0) or 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(minutes), 1)
    bars: list[Rect] = []
    for index, minute in enumerate(minutes):
        base: float = HEIGHT - BOTTOM
        for name in series:
            count = minute.counts.get(name, 0)
            if not count:
                continue
            height = plot_h * count / top
            base -= height
            label = f"{minute.start:%H:%M} {count} {name}"
            bars.append(Rect(LEFT + index * slot + 1, base, max(slot - 2, 1), height, name, label))
    steps = (0, top // 2, top) if top % 2 == 0 else (0, top)
    y_ticks = [Tick(HEIGHT - BOTTOM - plot_h * step / top, str(step)) for step in steps]
    x_ticks = [
        Tick(LEFT + index * slot, f"{minute.start:%H:%M}")
        for index, minute in enumerate(minutes)
        if index % LABEL_EVERY == 0 and len(minutes) - index > LABEL_EVERY // 2
    ]
    if minutes:
        x_ticks.append(Tick(LEFT + (len(minutes) - 1) * slot, f"{minutes[-1].start:%H:%M}"))
    return StackedChart(
        WIDTH, HEIGHT, bars, y_ticks, x_ticks, series, LEFT, WIDTH - RIGHT,
        HEIGHT - BOTTOM, sum(m.total for m in minutes),
    )  # fmt: skip


def lag(rows: Sequence[tuple[str, int | None]]) -> LagChart:
    """One horizontal bar per device: how many seconds its pull is behind the feed."""
    row, label_width = 30, 180
    longest = max((seconds or 0 for _, seconds in rows), default=0) or 1
    room = WIDTH - label_width - 90
    bars = [
        LagBar(
            TOP + index * row,
            room * (seconds or 0) / longest,
            name,
            "never pulled" if seconds is None else seconds_text(seconds),
        )
        for index, (name, seconds) in enumerate(rows)
    ]
    return LagChart(WIDTH, TOP * 2 + row * max(len(rows), 1), bars, label_width, row)


def lag_over_time(devices: Sequence[DeviceLag], *, now: datetime, window: timedelta) -> LineChart:
    """One line per device: seconds behind the feed at each sample of the ``window``."""
    top = nice_ceiling(max((s.behind_seconds for d in devices for s in d.samples), default=0) or 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    start = now - window

    def x(at: datetime) -> float:
        return LEFT + plot_w * max((at - start) / window, 0.0)

    def y(seconds: int) -> float:
        return HEIGHT - BOTTOM - plot_h * seconds / top

    lines = [
        Line(
            " ".join(f"{x(s.at):.1f},{y(s.behind_seconds):.1f}" for s in device.samples),
            index % LINE_COLOURS,
            device.name,
            seconds_text(device.samples[-1].behind_seconds),
            x(device.samples[-1].at),
            y(device.samples[-1].behind_seconds),
        )
        for index, device in enumerate(devices)
        if device.samples
    ]
    steps = (0, top // 2, top) if top % 2 == 0 else (0, top)
    y_ticks = [Tick(y(step), seconds_text(step)) for step in steps]
    quarter = window / 4
    x_ticks = [Tick(x(start + quarter * n), f"{start + quarter * n:%H:%M}") for n in range(4)]
    return LineChart(WIDTH, HEIGHT, lines, y_ticks, x_ticks, LEFT, WIDTH - RIGHT)


def seconds_text(seconds: int) -> str:
    """``0 s``, ``45 s``, ``12 min``, ``3 h 5 min``, ``2 d 4 h``."""
    if seconds < 60:
        return f"{seconds} s"
    minutes, hours = seconds // 60, seconds // 3600
    if hours < 1:
        return f"{minutes} min"
    if hours < 48:
        return f"{hours} h {minutes % 60} min"
    return f"{hours // 24} d {hours % 24} h"
