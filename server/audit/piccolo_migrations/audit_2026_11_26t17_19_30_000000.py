"""Constraints and indexes Piccolo's column API cannot declare."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.raw import raw_sql

ID = "2026-11-26T17:19:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "audit: identity and access constraints"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="audit", description=DESCRIPTION)
    manager.add_raw(
        raw_sql(
            'CREATE INDEX audit_log_restaurant ON audit_log (restaurant_id, id DESC)'
        )
    )
    manager.add_raw(
        raw_sql(
            "CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RAISE EXCEPTION ''audit_log is append-only''; END'"
        )
    )
    manager.add_raw(
        raw_sql(
            'CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only()'
        )
    )
    manager.add_raw(
        raw_sql(
            'CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only()'
        )
    )

    return manager
