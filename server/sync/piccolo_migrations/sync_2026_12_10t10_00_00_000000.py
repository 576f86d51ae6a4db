"""Feed lag per device over time, for the back office's Activity page: a sample a minute of
how far each active iPad's pull is behind the feed, kept a day (``server/sync/lag.py``)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.raw import raw_sql

ID = "2026-12-10T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "feed lag samples per device"

STATEMENTS = [
    # The key makes a sample a minute per device: a second sampler in the same minute (another
    # server process) inserts nothing.
    """
    CREATE TABLE sync_lag_samples (
        device_id uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
        restaurant_id uuid NOT NULL REFERENCES restaurants (id),
        at timestamptz NOT NULL,
        behind_seconds integer NOT NULL CHECK (behind_seconds >= 0),
        behind_changes integer NOT NULL CHECK (behind_changes >= 0),
        PRIMARY KEY (device_id, at)
    )
    """,
    "CREATE INDEX sync_lag_samples_recent ON sync_lag_samples (restaurant_id, at)",
    # The sampler deletes the day-old samples of every restaurant at once.
    "CREATE INDEX sync_lag_samples_expiry ON sync_lag_samples (at)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="sync", description=DESCRIPTION)
    for statement in STATEMENTS:
        manager.add_raw(raw_sql(statement))
    return manager
