"""Constraints and indexes Piccolo's column API cannot declare."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.raw import raw_sql

ID = "2026-11-26T17:19:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "devices: identity and access constraints"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="devices", description=DESCRIPTION)
    manager.add_raw(
        raw_sql(
            'CREATE UNIQUE INDEX devices_location_prefix ON devices (location_id, prefix)'
        )
    )
    manager.add_raw(
        raw_sql(
            'CREATE INDEX devices_restaurant ON devices (restaurant_id, enrolled_at)'
        )
    )

    return manager
