"""Constraints and indexes Piccolo's column API cannot declare."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.raw import raw_sql

ID = "2026-11-26T17:19:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "employees: identity and access constraints"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="employees", description=DESCRIPTION)
    manager.add_raw(
        raw_sql(
            'CREATE INDEX employees_restaurant ON employees (restaurant_id, name)'
        )
    )
    manager.add_raw(
        raw_sql(
            'ALTER TABLE employees ADD CONSTRAINT employees_pin_failures_not_negative CHECK (pin_failures >= 0)'
        )
    )

    return manager
