"""Managers act on sync problems: a quarantined change is dismissed with a reason or retried
after a fix, a logged conflict is acknowledged; each keeps who did it and when.

A dismissal is stamped with its transaction's id, so the device that made the change hears
of it in its pull exactly once per cursor, the way the feed stamps entities (feed.py).
One quarantine row per device and sequence number: a retry refused again updates it.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.raw import raw_sql

ID = "2026-12-08T11:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "states for the quarantine and the conflict log"

STATEMENTS = [
    """
    ALTER TABLE sync_quarantine
        ADD COLUMN state text NOT NULL DEFAULT 'open'
            CHECK (state IN ('open', 'dismissed', 'applied')),
        ADD COLUMN settled_at timestamptz NULL,
        ADD COLUMN settled_by uuid NULL,
        ADD COLUMN dismissal_reason text NULL,
        ADD COLUMN dismissed_xid xid8 NULL,
        ADD COLUMN retries integer NOT NULL DEFAULT 0,
        ADD COLUMN retried_at timestamptz NULL,
        ADD COLUMN retried_by uuid NULL,
        ADD COLUMN retry_outcome text NULL,
        ADD CONSTRAINT sync_quarantine_settled
            CHECK ((state = 'open') = (settled_at IS NULL)),
        ADD CONSTRAINT sync_quarantine_dismissed
            CHECK ((state = 'dismissed') = (dismissal_reason IS NOT NULL))
    """,
    "CREATE UNIQUE INDEX sync_quarantine_change ON sync_quarantine (device_id, seq)",
    "CREATE INDEX sync_quarantine_dismissals ON sync_quarantine (device_id, dismissed_xid)"
    " WHERE state = 'dismissed'",
    """
    ALTER TABLE sync_conflicts
        ADD COLUMN state text NOT NULL DEFAULT 'new' CHECK (state IN ('new', 'acknowledged')),
        ADD COLUMN acknowledged_at timestamptz NULL,
        ADD COLUMN acknowledged_by uuid NULL,
        ADD CONSTRAINT sync_conflicts_acknowledged
            CHECK ((state = 'acknowledged') = (acknowledged_at IS NOT NULL))
    """,
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="sync", description=DESCRIPTION)
    for statement in STATEMENTS:
        manager.add_raw(raw_sql(statement))
    return manager
