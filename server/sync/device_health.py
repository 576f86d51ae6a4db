"""The colour of an iPad on the back office's device page: a pure rule over its figures.

Every reason that holds is listed, worst first; the colour is the worst reason's.

========  ======================  ==========================================================
colour    reason                  when
========  ======================  ==========================================================
red       ``quarantined``         the server refused some of its changes, still open: a
                                  manager dismisses or retries them
red       ``offline_with_backlog`` out of touch, and it last said changes were waiting to go
red       ``outbox_stuck``        its oldest unsent change is older than ``OUTBOX_STUCK_AFTER``
red       ``pull_stuck``          in touch, yet its pull is over ``PULL_STUCK_AFTER`` behind
amber     ``offline``             out of touch, nothing reported waiting (switched off?)
amber     ``never_synced``        it has not reached the feed yet (never pulled, or still
                                  loading its first copy)
amber     ``sending``             it still has changes to send
amber     ``behind``              its pull is over ``BEHIND_AFTER`` behind the feed
green                             none of the above
========  ======================  ==========================================================

"In touch" means it holds a socket here or was seen (any request) within ``OUT_OF_TOUCH_AFTER``.
Red is what loses or withholds sales: changes refused, or stuck on a till. Amber will most
likely sort itself out. Conflicts never colour a device: the server merged them by rule, and
the Conflicts list is where a manager reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

Colour = Literal["red", "amber", "green"]

OUT_OF_TOUCH_AFTER = timedelta(minutes=5)
OUTBOX_STUCK_AFTER = timedelta(minutes=15)
PULL_STUCK_AFTER = timedelta(minutes=5)
BEHIND_AFTER = timedelta(minutes=1)

RED_REASONS = ("quarantined", "offline_with_backlog", "outbox_stuck", "pull_stuck")
AMBER_REASONS = ("offline", "never_synced", "sending", "behind")
RANK: dict[Colour, int] = {"red": 0, "amber": 1, "green": 2}
"""Worst first."""


@dataclass(frozen=True, kw_only=True)
class Figures:
    """What the colour depends on, all read at ``now`` (the database's clock)."""

    now: datetime
    online: bool
    last_seen_at: datetime | None
    outbox_backlog: int | None
    oldest_unsent_at: datetime | None
    behind: timedelta | None
    """Age of the oldest change it has not pulled; ``None`` until it reaches the feed."""
    quarantined: int

    def __post_init__(self) -> None:
        if self.quarantined < 0 or (self.outbox_backlog or 0) < 0:
            raise ValueError("counts are never negative")


@dataclass(frozen=True)
class Health:
    colour: Colour
    reasons: tuple[str, ...]


def health(figures: Figures) -> Health:
    """The device's colour and every reason for it, worst first."""
    f = figures
    in_touch = f.online or (
        f.last_seen_at is not None and f.now - f.last_seen_at <= OUT_OF_TOUCH_AFTER
    )
    waiting = (f.outbox_backlog or 0) > 0
    holds = {
        "quarantined": f.quarantined > 0,
        "offline_with_backlog": not in_touch and waiting,
        "outbox_stuck": (
            waiting
            and f.oldest_unsent_at is not None
            and f.now - f.oldest_unsent_at > OUTBOX_STUCK_AFTER
        ),
        "pull_stuck": in_touch and f.behind is not None and f.behind > PULL_STUCK_AFTER,
        "offline": not in_touch and not waiting,
        "never_synced": f.behind is None,
        "sending": in_touch and waiting,
        "behind": f.behind is not None and f.behind > BEHIND_AFTER,
    }
    reasons = tuple(reason for reason in (*RED_REASONS, *AMBER_REASONS) if holds[reason])
    if any(reason in RED_REASONS for reason in reasons):
        return Health("red", reasons)
    return Health("amber" if reasons else "green", reasons)
