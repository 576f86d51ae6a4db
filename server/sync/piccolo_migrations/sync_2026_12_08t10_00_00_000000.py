"""What an iPad says about its outbox in each push (backlog and oldest unsent change), kept
beside its sync progress for the back office; and per-device indexes, so the device status
page counts each iPad's quarantined changes and conflicts without reading the restaurant's."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.raw import raw_sql

ID = "2026-12-08T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "outbox backlog reported by devices; per-device quarantine and conflict indexes"

STATEMENTS = [
    # NULL: the device never said (an older app), not "nothing waiting".
    "ALTER TABLE sync_devices"
    " ADD COLUMN outbox_backlog integer NULL CHECK (outbox_backlog >= 0),"
    " ADD COLUMN oldest_unsent_at timestamptz NULL",
    "CREATE INDEX sync_quarantine_device_status ON sync_quarantine (device_id, id DESC)",
    "CREATE INDEX sync_conflicts_device_status ON sync_conflicts (device_id)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="sync", description=DESCRIPTION)
    for statement in STATEMENTS:
        manager.add_raw(raw_sql(statement))
    return manager
