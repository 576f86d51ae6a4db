"""The device colour rule (``server/sync/device_health.py``), without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from server.sync.device_health import Figures, health

NOW = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def figures(**changed: Any) -> Figures:
    """A till in touch, caught up, nothing waiting, nothing refused; then ``changed``."""
    base: dict[str, Any] = {
        "now": NOW,
        "online": True,
        "last_seen_at": NOW,
        "outbox_backlog": 0,
        "oldest_unsent_at": None,
        "behind": timedelta(0),
        "quarantined": 0,
    }
    return Figures(**(base | changed))


CASES = {
    "caught up": ({}, "green", ()),
    "older app, figures unknown": ({"outbox_backlog": None}, "green", ()),
    "seen 4 minutes ago, no socket": (
        {"online": False, "last_seen_at": NOW - 4 * MINUTE},
        "green",
        (),
    ),
    "a change refused": ({"quarantined": 1}, "red", ("quarantined",)),
    "switched off": (
        {"online": False, "last_seen_at": NOW - 6 * MINUTE},
        "amber",
        ("offline",),
    ),
    "never connected, never pulled": (
        {"online": False, "last_seen_at": None, "behind": None, "outbox_backlog": None},
        "amber",
        ("offline", "never_synced"),
    ),
    "sending": (
        {"outbox_backlog": 3, "oldest_unsent_at": NOW - MINUTE},
        "amber",
        ("sending",),
    ),
    "a little behind": ({"behind": 2 * MINUTE}, "amber", ("behind",)),
    "off with sales on it": (
        {"online": False, "last_seen_at": NOW - 6 * MINUTE, "outbox_backlog": 2},
        "red",
        ("offline_with_backlog",),
    ),
    "outbox stuck while in touch": (
        {"outbox_backlog": 2, "oldest_unsent_at": NOW - 16 * MINUTE},
        "red",
        ("outbox_stuck", "sending"),
    ),
    "in touch, pull stuck": ({"behind": 6 * MINUTE}, "red", ("pull_stuck", "behind")),
    "out of touch and behind is not stuck": (
        {"online": False, "last_seen_at": NOW - 60 * MINUTE, "behind": 30 * MINUTE},
        "amber",
        ("offline", "behind"),
    ),
}


@pytest.mark.parametrize(("changed", "colour", "reasons"), CASES.values(), ids=CASES.keys())
def test_the_colour_and_its_reasons(
    changed: dict[str, Any], colour: str, reasons: tuple[str, ...]
) -> None:
    verdict = health(figures(**changed))
    assert (verdict.colour, verdict.reasons) == (colour, reasons)


def test_negative_counts_are_a_bug() -> None:
    with pytest.raises(ValueError, match="negative"):
        figures(quarantined=-1)
