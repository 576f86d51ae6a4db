"""Find an order's lines without reading every line of the restaurant (load/sync_bench.py)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.raw import raw_sql

ID = "2026-11-26T19:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "index order lines by their order"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="sync", description=DESCRIPTION)
    manager.add_raw(
        raw_sql(
            "CREATE INDEX sync_entities_line_order ON sync_entities"
            " (restaurant_id, ((data->>'order_id')::uuid)) WHERE entity_type = 'order_line'"
        )
    )
    return manager
