"""Drawers, drawer sessions and the over/short threshold on the wire. Amounts are integer
pence; the bounds are the migrations' CHECKs, so a value out of range is refused while
decoding (400 naming the field), never by the database."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from msgspec import UNSET, Meta, UnsetType

from server.wire import Input, Wire

Name = Annotated[str, Meta(min_length=1, max_length=80)]
Threshold = Annotated[
    int, Meta(ge=0, le=100_000_000, description="Pence; a difference above it is flagged")
]
SessionStatus = Literal["open", "closed", "merged"]


class Drawer(Wire, kw_only=True):
    id: UUID
    location_id: UUID
    name: str
    archived: bool
    """An archived drawer cannot be opened; its sessions stay."""
    created_at: datetime


class DrawerCreate(Input, kw_only=True):
    id: UUID | None = None
    location_id: UUID | None = None
    """Required from the back office; an iPad's manager adds drawers at its own location."""
    name: Name


class DrawerUpdate(Input, kw_only=True):
    name: Name | UnsetType = UNSET
    archived: bool | UnsetType = UNSET


class CashupSettings(Wire, kw_only=True):
    over_short_threshold: int
    """Pence: a session whose over/short is more than this, either way, is flagged."""
    updated_at: datetime | None


class CashupSettingsUpdate(Input, kw_only=True):
    over_short_threshold: Threshold


class ExpectedLine(Wire, kw_only=True):
    """One line of the expected-cash sum: ``sign`` says whether it adds or takes away."""

    label: str
    sign: Literal["+", "-"]
    amount: int


class AttachedCash(Wire, kw_only=True):
    """A cash payment or refund, and why it belongs where it is listed."""

    kind: Literal["sale", "refund"]
    id: UUID
    payment_id: UUID
    amount: int
    """Pence into the drawer (a sale, with its cash tip) or out of it (a refund)."""
    at: datetime
    device_id: UUID | None
    session_id: UUID | None
    """The session it is attached to; None for cash outside any drawer session."""


class Movement(Wire, kw_only=True):
    id: UUID
    session_id: UUID
    kind: Literal["paid_in", "paid_out"]
    amount: int
    reason: str
    employee_id: UUID
    approved_by: UUID | None
    device_id: UUID | None
    at: datetime
    counted: bool
    """False when made after its session closed: kept and flagged, not in the expected sum."""


class ExtraClose(Wire, kw_only=True):
    """A close for a session already closed: kept and flagged, never counted."""

    id: UUID
    counted_cash: int
    at: datetime
    employee_id: UUID | None
    device_id: UUID | None


class DrawerSession(Wire, kw_only=True):
    """A drawer session. Expected figures are null for a caller who counts blind."""

    id: UUID
    location_id: UUID
    drawer_id: UUID
    drawer_name: str
    currency: str
    status: SessionStatus
    merged_into: UUID | None
    opened_at: datetime
    opened_by: UUID
    opened_device_id: UUID | None
    opening_float: int
    float_counts: dict[str, int]
    business_day: date
    closed_at: datetime | None
    closed_by: UUID | None
    counts: dict[str, int] | None
    counted_cash: int | None
    expected_cash: int | None
    over_short: int | None
    threshold: int | None
    flagged: bool | None
    flags: list[str]
    """What a manager should look at: ``merged_floats`` (another iPad opened the same drawer:
    its float is not in the expected sum), ``movement_after_close``, ``extra_close``,
    ``late_cash`` (cash synced after the close changed the expected figure)."""


class DrawerSessionDetail(DrawerSession, kw_only=True):
    merged_sessions: list[UUID]
    merged_floats: int
    """The floats of the sessions merged into this one: a physical drawer has one float."""
    expected_lines: list[ExpectedLine]
    movements: list[Movement]
    cash: list[AttachedCash]
    extra_closes: list[ExtraClose]
    expected_at_close: int | None
    """The expected figure as the server worked it out when the drawer was closed."""


class DrawerSessions(Wire, kw_only=True):
    items: list[DrawerSession]
    cash_outside_sessions: list[AttachedCash]
    """Cash taken, or refunded, on an iPad with no drawer session open at the time."""
