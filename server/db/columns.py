"""Column helpers shared by every domain table."""

from __future__ import annotations

from piccolo.columns import UUID, Timestamptz
from piccolo.columns.defaults.timestamptz import TimestamptzNow


def id_column() -> UUID:
    """Primary key: a UUID, because iPads create rows offline before the server sees them."""
    return UUID(primary_key=True)


def created_at_column() -> Timestamptz:
    return Timestamptz(default=TimestamptzNow())


def updated_at_column() -> Timestamptz:
    return Timestamptz(default=TimestamptzNow(), auto_update=TimestamptzNow().python)
