"""Sign-in throttling per account and source (issue 13): see server/auth/throttle.py.

Written in SQL, as the payments tables are: the key is the (kind, account, source) triple and
the code reads and writes it with raw SQL, so Piccolo keeps no table class for it.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.raw import raw_sql

ID = "2026-12-04T18:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "sign-in throttle per account and source"

STATEMENTS = [
    """
    CREATE TABLE sign_in_throttle (
        kind text NOT NULL CHECK (kind IN ('login', 'pin')),
        account text NOT NULL,
        source text NOT NULL,
        failures integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
        next_attempt_at timestamptz NOT NULL,
        last_attempt_at timestamptz NOT NULL,
        last_success_at timestamptz NULL,
        expires_at timestamptz NOT NULL,
        PRIMARY KEY (kind, account, source)
    )
    """,
    "CREATE INDEX sign_in_throttle_expiry ON sign_in_throttle (expires_at)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="auth", description=DESCRIPTION)
    for statement in STATEMENTS:
        manager.add_raw(raw_sql(statement))
    return manager
