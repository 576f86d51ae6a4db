"""Refusals of employee management; each code is documented in docs/errors.md."""

from __future__ import annotations

from server.errors import Conflict, Forbidden


class RoleAboveOwn(Forbidden):
    """Granting a role above the caller's own, or acting on someone whose role is above it.

    A manager who could make an owner (or reset an owner's PIN) could sign in as that owner
    on an iPad, so both are refused alike; ``role`` names the role that was too high."""

    code = "employees.role_above_own"
    title = "Nobody grants or manages a role above their own"


class OfflineReportReused(Conflict):
    """An offline PIN failure report id this iPad already sent, with other contents.

    A report is counted once; the same id with the same contents is answered as the first
    time, and new failures go in a new report with a new id."""

    code = "employees.offline_report_reused"
    title = "This report id was already used for another report"
