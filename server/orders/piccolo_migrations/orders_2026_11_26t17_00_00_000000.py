"""Constraints and indexes Piccolo's column API cannot declare (composite, partial, checks)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.raw import raw_sql

ID = "2026-11-26T17:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "orders constraints and indexes"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="orders", description=DESCRIPTION)

    manager.add_raw(
        raw_sql("CREATE UNIQUE INDEX orders_location_number ON orders (location_id, number)")
    )
    manager.add_raw(
        raw_sql("CREATE INDEX orders_keyset ON orders (restaurant_id, opened_at DESC, id DESC)")
    )
    manager.add_raw(raw_sql("CREATE INDEX order_lines_order ON order_lines (order_id, position)"))
    manager.add_raw(
        raw_sql(
            "ALTER TABLE orders ADD CONSTRAINT orders_amounts_not_negative CHECK (subtotal >= 0 AND discount_total >= 0 AND vat_total >= 0 AND service_charge >= 0 AND tip >= 0 AND total_due >= 0)"
        )
    )
    manager.add_raw(
        raw_sql(
            "ALTER TABLE order_lines ADD CONSTRAINT order_lines_quantity_positive CHECK (quantity > 0)"
        )
    )

    return manager
