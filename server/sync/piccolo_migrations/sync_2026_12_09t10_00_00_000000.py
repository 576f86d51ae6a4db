"""The back office's Activity charts read each device's results of the last hour: an index
on (device, time) keeps that a short range scan however long the history grows."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.raw import raw_sql

ID = "2026-12-09T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "index sync results by device and time"

STATEMENTS = [
    "CREATE INDEX sync_results_recent ON sync_results (device_id, created_at)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="sync", description=DESCRIPTION)
    for statement in STATEMENTS:
        manager.add_raw(raw_sql(statement))
    return manager
