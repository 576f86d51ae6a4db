"""``background_leases``: which process of the fleet runs each background job, until when,
and when the job last ran (``server/background/leases.py``)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.raw import raw_sql

ID = "2026-12-21T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "background leases"

STATEMENTS = [
    """
    CREATE TABLE background_leases (
        name text PRIMARY KEY,
        holder text NOT NULL,
        expires_at timestamptz NOT NULL,
        ran_at timestamptz NOT NULL
    )
    """,
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="background", description=DESCRIPTION)
    for statement in STATEMENTS:
        manager.add_raw(raw_sql(statement))
    return manager
