"""Snapshots carry tombstones (a device that starts over must learn a deletion's clock), so
they walk the tombstones in priority order too, beside the live entities' index."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.raw import raw_sql

ID = "2026-12-04T17:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "index tombstones for snapshots"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="sync", description=DESCRIPTION)
    manager.add_raw(
        raw_sql(
            "CREATE INDEX sync_entities_snapshot_tombstones ON sync_entities"
            " (restaurant_id, tier, entity_type, entity_id) WHERE deleted"
        )
    )
    return manager
