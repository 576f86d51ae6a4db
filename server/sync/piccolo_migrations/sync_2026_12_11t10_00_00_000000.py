"""The latest push each device had refused as a whole (a sequence gap, an app too old): its
code, detail and time, written after the batch rolled back, for the device status's
``last_error`` (``server/sync/engine.py``, ``server/sync/device_status.py``)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.raw import raw_sql

ID = "2026-12-11T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "latest refused push per device"

STATEMENTS = [
    """
    ALTER TABLE sync_devices
        ADD COLUMN refused_code text NULL,
        ADD COLUMN refused_detail text NULL,
        ADD COLUMN refused_at timestamptz NULL
    """,
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="sync", description=DESCRIPTION)
    for statement in STATEMENTS:
        manager.add_raw(raw_sql(statement))
    return manager
