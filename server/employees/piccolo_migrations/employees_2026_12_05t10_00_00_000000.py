"""Wrong PINs typed on an iPad while it was offline, reported when it reconnects (issue 17):
each report once, by the id the iPad gives it (``docs/security.md``, "Offline sign-in and
approvals"). The failures themselves go into ``sign_in_throttle``; this table only makes a
report idempotent.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.raw import raw_sql

ID = "2026-12-05T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "offline PIN failure reports"

STATEMENTS = [
    """
    CREATE TABLE offline_pin_reports (
        device_id uuid NOT NULL,
        report_id uuid NOT NULL,
        restaurant_id uuid NOT NULL REFERENCES restaurants (id),
        digest text NOT NULL,
        counted integer NOT NULL,
        received_at timestamptz NOT NULL,
        PRIMARY KEY (device_id, report_id)
    )
    """,
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="employees", description=DESCRIPTION)
    for statement in STATEMENTS:
        manager.add_raw(raw_sql(statement))
    return manager
