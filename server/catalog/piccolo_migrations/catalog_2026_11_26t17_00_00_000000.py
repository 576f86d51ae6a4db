"""Constraints and indexes Piccolo's column API cannot declare (composite, partial, checks)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.raw import raw_sql

ID = "2026-11-26T17:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "catalog constraints and indexes"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="catalog", description=DESCRIPTION)

    manager.add_raw(
        raw_sql("CREATE INDEX categories_restaurant ON categories (restaurant_id, position)")
    )
    manager.add_raw(
        raw_sql("CREATE INDEX products_restaurant ON products (restaurant_id, position)")
    )
    manager.add_raw(
        raw_sql("CREATE INDEX modifier_groups_restaurant ON modifier_groups (restaurant_id)")
    )
    manager.add_raw(raw_sql("CREATE INDEX modifiers_group ON modifiers (group_id, position)"))
    manager.add_raw(
        raw_sql(
            "CREATE UNIQUE INDEX product_modifier_groups_pair ON product_modifier_groups (product_id, group_id)"
        )
    )
    manager.add_raw(
        raw_sql(
            "CREATE UNIQUE INDEX availability_location_product ON availability (location_id, product_id)"
        )
    )
    manager.add_raw(
        raw_sql(
            "ALTER TABLE products ADD CONSTRAINT products_price_not_negative CHECK (price >= 0)"
        )
    )
    manager.add_raw(
        raw_sql(
            "ALTER TABLE products ADD CONSTRAINT products_vat_rate_range CHECK (vat_rate_bp BETWEEN 0 AND 10000)"
        )
    )

    return manager
