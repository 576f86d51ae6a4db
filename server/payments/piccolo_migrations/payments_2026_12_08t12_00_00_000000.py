"""``reconcile_runs``: each ``fynlo reconcile`` run's window and its findings counted by kind,
so ``/metrics`` can show the last run's differences (``server.domain_metrics``). The
findings themselves are printed by the command; only counts are kept here."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.raw import raw_sql

ID = "2026-12-08T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "reconcile runs"

STATEMENTS = [
    """
    CREATE TABLE reconcile_runs (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        since timestamptz NOT NULL,
        until timestamptz NOT NULL,
        restaurant_id uuid NULL REFERENCES restaurants (id),
        balanced boolean NOT NULL,
        findings jsonb NOT NULL
    )
    """,
    "CREATE INDEX reconcile_runs_at ON reconcile_runs (at DESC)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="payments", description=DESCRIPTION)
    for statement in STATEMENTS:
        manager.add_raw(raw_sql(statement))
    return manager
