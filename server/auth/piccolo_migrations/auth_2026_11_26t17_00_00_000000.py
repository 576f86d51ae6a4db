"""Constraints and indexes Piccolo's column API cannot declare (composite, partial, checks)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.raw import raw_sql

ID = "2026-11-26T17:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "auth constraints and indexes"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="auth", description=DESCRIPTION)

    manager.add_raw(raw_sql("CREATE UNIQUE INDEX users_email_lower ON users (lower(email))"))
    manager.add_raw(raw_sql("CREATE INDEX users_restaurant ON users (restaurant_id)"))

    return manager
