"""Human order numbers that an iPad allocates offline: its prefix, a dash, its own sequence.

Each device at a location holds a distinct prefix (1 to 3 letters or digits) and counts its own
orders, so two offline iPads never hand out the same number and no server round trip is needed.
"""

from __future__ import annotations

import re

from server.errors import ValidationFailed

_PREFIX = re.compile(r"^[A-Z0-9]{1,3}$")
_NUMBER = re.compile(r"^(?P<prefix>[A-Z0-9]{1,3})-(?P<seq>[0-9]{4,9})$")
MAX_SEQUENCE = 999_999_999


def format_order_number(prefix: str, sequence: int) -> str:
    """``A-0042``: at least four digits so numbers sort and read well on a ticket."""
    if not _PREFIX.match(prefix):
        raise ValidationFailed("device prefix must be 1 to 3 letters or digits", field="prefix")
    if not 1 <= sequence <= MAX_SEQUENCE:
        raise ValidationFailed("order sequence out of range", field="sequence")
    return f"{prefix}-{sequence:04d}"


def parse_order_number(number: str) -> tuple[str, int]:
    """The device prefix and sequence of an order number."""
    match = _NUMBER.match(number)
    if match is None:
        raise ValidationFailed("not an order number like A-0042", field="number")
    return match["prefix"], int(match["seq"])
