"""Charts as SVG drawn by the server: the geometry here, the markup in ``_chart_*.html``.

No charting library: nothing to serve or keep current, no script, and a chart that reads the
same with scripts off and in a screenshot. Each chart's numbers are also in a table beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from server.sync.activity import Minute

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
