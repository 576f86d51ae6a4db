"""Refusals of employee management; each code is documented in docs/errors.md."""

from __future__ import annotations

from server.errors import Forbidden


class RoleAboveOwn(Forbidden):
    """Granting a role above the caller's own, or acting on someone whose role is above it.

    A manager who could make an owner (or reset an owner's PIN) could sign in as that owner
    on an iPad, so both are refused alike; ``role`` names the role that was too high."""

    code = "employees.role_above_own"
    title = "Nobody grants or manages a role above their own"
