"""``reconcile_findings``: each finding of a ``fynlo reconcile`` run, tied to the restaurant
(and location) of the payment or order it names, so a manager sees the latest run's findings
(``server.payments.reconcile_runs``); runs looked up per restaurant, newest first."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.raw import raw_sql

ID = "2026-12-11T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "reconcile findings"

STATEMENTS = [
    """
    CREATE TABLE reconcile_findings (
        id bigserial PRIMARY KEY,
        run_id bigint NOT NULL REFERENCES reconcile_runs (id) ON DELETE CASCADE,
        restaurant_id uuid NULL REFERENCES restaurants (id),
        location_id uuid NULL REFERENCES locations (id),
        kind text NOT NULL,
        detail text NOT NULL,
        provider text NULL,
        payment_id uuid NULL,
        order_id uuid NULL,
        reference text NULL,
        ours bigint NULL,
        theirs bigint NULL
    )
    """,
    "CREATE INDEX reconcile_findings_run ON reconcile_findings (run_id, restaurant_id, id)",
    "CREATE INDEX reconcile_runs_restaurant_at ON reconcile_runs (restaurant_id, at DESC)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="payments", description=DESCRIPTION)
    for statement in STATEMENTS:
        manager.add_raw(raw_sql(statement))
    return manager
