"""Cash-up, drawers (issue 19, item 1): the restaurant's over/short threshold, and which close
closed a session.

A session is closed once, by the first close the server applies; any later close for it is
kept and flagged, so the row names the one that counted (docs/cash-up.md).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.raw import raw_sql

ID = "2026-12-13T11:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "cash-up drawers"

STATEMENTS = [
    """
    CREATE TABLE cashup_settings (
        restaurant_id uuid PRIMARY KEY REFERENCES restaurants (id),
        over_short_threshold bigint NOT NULL DEFAULT 500
            CHECK (over_short_threshold BETWEEN 0 AND 100000000),
        updated_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    "ALTER TABLE drawer_sessions ADD COLUMN close_id uuid NULL",
    "ALTER TABLE drawer_sessions ADD COLUMN threshold bigint NULL",
    # Cash is attached to the session open on the iPad that took it: read by device and time.
    "CREATE INDEX payments_cash_by_device ON payments (device_id, succeeded_at)"
    " WHERE method = 'cash'",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="cashup", description=DESCRIPTION)
    for statement in STATEMENTS:
        manager.add_raw(raw_sql(statement))
    return manager
