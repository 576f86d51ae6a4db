"""Employee bodies on the wire. PIN hashes never leave the server."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from msgspec import UNSET, Meta, UnsetType

from server.auth.tables import Role
from server.wire import Input, Wire

Name = Annotated[str, Meta(min_length=1, max_length=120)]
Pin = Annotated[
    str,
    Meta(
        min_length=4,
        max_length=8,
        pattern=r"^[0-9]+$",
        description="6 to 8 digits (4 to 8 where the owner allows short PINs, see"
        " `/api/v1/employees/pin-policy`); common PINs, repeats and runs are refused",
    ),
]


class Employee(Wire, kw_only=True):
    id: UUID
    name: str
    role: Role
    has_pin: bool
    pin_locked: bool
    """True while wrong PINs keep some iPad waiting before it may try this PIN again; other
    iPads are not affected. Setting a new PIN clears it."""
    active: bool
    created_at: datetime
    updated_at: datetime


class OfflineCredential(Wire, kw_only=True):
    """What an iPad needs to check one employee's PIN while offline and to sign as them
    (``docs/security.md``, "Offline sign-in and approvals"): derive
    ``PBKDF2-HMAC-SHA256(PIN, salt, iterations)``, then the key ``HMAC(seed,
    "fynlo-offline-key-v1|" + device_id)``, and compare ``HMAC(key, "verify")`` with
    ``verifier``. Only for this iPad: another iPad's verifier differs."""

    employee_id: UUID
    name: str
    role: Role
    salt: str
    """Hex."""
    iterations: int
    verifier: str
    """Hex HMAC-SHA256."""


class OfflineCredentials(Wire, kw_only=True):
    device_id: UUID
    employees: list[OfflineCredential]
    """Active employees with a PIN the server has seen since offline proofs began; anyone
    missing signs in online once (a PIN sign-in or a new PIN) and appears after a refresh."""


class OfflinePinFailures(Input, kw_only=True):
    """Wrong PINs typed for one employee id on the reporting iPad while it was offline."""

    employee_id: UUID
    """As typed on the iPad: an id the restaurant does not have is counted like a real one."""
    failures: Annotated[int, Meta(ge=1, le=10_000)]
    """How many, since the iPad's last report."""
    first_at: Annotated[datetime, Meta(tz=True)]
    last_at: Annotated[datetime, Meta(tz=True)]
    """When the first and the last of them were typed, by the iPad's clock, RFC 3339 with an
    offset (a time without one is refused: it could not be compared)."""
    cleared: bool = False
    """A right PIN for this employee followed the last of them on the iPad, which clears the
    count there as a right PIN online does: the report is then audited, not counted."""


class OfflinePinFailureReport(Input, kw_only=True):
    """What an iPad that was offline tells the server about wrong PINs typed on it
    (``docs/security.md``, "Offline sign-in and approvals")."""

    report_id: UUID
    """Chosen by the iPad; sending the same report again changes nothing."""
    employees: Annotated[list[OfflinePinFailures], Meta(min_length=1, max_length=500)]


class OfflinePinFailureReceipt(Wire, kw_only=True):
    report_id: UUID
    received_at: datetime
    """When the server first received the report (the same for a report sent again)."""
    counted: int
    """Wrong PINs the report added to this iPad's waits (those not ``cleared``)."""


class EmployeeCreate(Input, kw_only=True):
    id: UUID | None = None
    name: Name
    role: Role
    pin: Pin | None = None


class EmployeeUpdate(Input, kw_only=True):
    name: Name | UnsetType = UNSET
    role: Role | UnsetType = UNSET
    active: bool | UnsetType = UNSET


class PinSet(Input, kw_only=True):
    """Set or reset a PIN; resetting also clears its wrong-PIN waits on every iPad."""

    pin: Pin


class PinPolicy(Wire, kw_only=True):
    """The restaurant's PIN rules."""

    allow_four_digit_pins: bool
    """Whether 4- and 5-digit PINs are accepted; off unless the owner turned it on."""
    min_length: int
    max_length: int
    changed_at: datetime | None
    """When the owner last set it; null for a restaurant that never has."""
    changed_by: UUID | None
    """Who set it (a user or an employee id); null when the server did (the demo, a migration)."""


class PinPolicyUpdate(Input, kw_only=True):
    allow_four_digit_pins: bool
