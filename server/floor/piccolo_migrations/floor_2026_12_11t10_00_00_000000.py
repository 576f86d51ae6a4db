"""Areas on the floor plan.

- ``floor_tables.area``: the part of the room a table is in ("Terrace", "Bar"), so the iPad
  shows the floor area by area; empty when the restaurant has one room.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.raw import raw_sql

ID = "2026-12-11T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "areas on the floor plan"

STATEMENTS = ["ALTER TABLE floor_tables ADD COLUMN area varchar(32) NOT NULL DEFAULT ''"]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="floor", description=DESCRIPTION)
    for statement in STATEMENTS:
        manager.add_raw(raw_sql(statement))
    return manager
