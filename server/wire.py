"""Base Structs for everything on the wire: snake_case JSON, decided once here."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec


class Wire(msgspec.Struct, kw_only=True):
    # kw_only applies to the fields a class declares itself, so every subclass repeats it.
    """A response body: built explicitly from rows, never a Piccolo row itself."""


class Input(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A request body: unknown fields are refused, so server-owned fields cannot be set."""


def instant(value: datetime) -> str:
    """An instant as synced entities and iPads write it: UTC, ISO 8601, ending in ``Z``."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
