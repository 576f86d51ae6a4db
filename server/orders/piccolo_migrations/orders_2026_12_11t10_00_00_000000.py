"""Seats and courses on order lines.

- ``order_lines.seat``: which seat at the table the dish is for (1, 2, ...), so a bill can be
  split by seat; null when nobody said.
- ``order_lines.course``: which course it is served in (1 starters, 2 mains, ...), so the
  kitchen fires courses in turn; null when nobody said.

Both are set by the iPad (``docs/sync-protocol.md``, ``order_line``) and never change a price.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.raw import raw_sql

ID = "2026-12-11T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "seats and courses on order lines"

STATEMENTS = [
    "ALTER TABLE order_lines ADD COLUMN seat integer NULL CHECK (seat >= 1),"
    " ADD COLUMN course integer NULL CHECK (course >= 1)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="orders", description=DESCRIPTION)
    for statement in STATEMENTS:
        manager.add_raw(raw_sql(statement))
    return manager
