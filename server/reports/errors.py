"""Why a day cannot be closed (docs/errors.md)."""

from __future__ import annotations

from server.errors import Conflict


class DayNotOver(Conflict):
    """The business day has not ended at the location yet: its figures are still moving."""

    code = "z_report.day_not_over"
    title = "This business day has not ended yet"


class DayAlreadyClosed(Conflict):
    """A Z-report was issued for this location and day already; carries its ``number``."""

    code = "z_report.day_closed"
    title = "This business day is closed already"
