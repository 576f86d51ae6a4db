"""Constraints and indexes Piccolo's column API cannot declare."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.raw import raw_sql

ID = "2026-11-26T17:19:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "auth: identity and access constraints"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="auth", description=DESCRIPTION)
    manager.add_raw(
        raw_sql(
            'CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id) WHERE user_id IS NOT NULL'
        )
    )
    manager.add_raw(
        raw_sql(
            'CREATE INDEX refresh_tokens_device ON refresh_tokens (device_id) WHERE device_id IS NOT NULL'
        )
    )

    return manager
