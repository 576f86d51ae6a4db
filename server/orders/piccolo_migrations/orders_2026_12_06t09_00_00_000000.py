"""Void limits.

- ``order_policies``: per restaurant, what one employee may void in a day without a manager's
  approval (``void_limit_count`` voids, ``void_limit_amount`` minor units of the voided
  orders' ``total_due``).
- ``order_voids``: one row per voided order, whoever voided it (an employee or a back-office
  user), who approved it and what the order was worth; the limits count from it. Written in
  the transaction that voids the order, by REST and sync alike; its order is checked at
  commit, so it may be written before the order's own row in that transaction.
- Indexes for "what has this employee (or user) voided today?".
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.raw import raw_sql

ID = "2026-12-06T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "void limits"

STATEMENTS = [
    """
    CREATE TABLE order_policies (
        restaurant_id uuid PRIMARY KEY REFERENCES restaurants (id),
        void_limit_count integer NOT NULL DEFAULT 3 CHECK (void_limit_count >= 0),
        void_limit_amount bigint NOT NULL DEFAULT 10000 CHECK (void_limit_amount >= 0),
        updated_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    """
    CREATE TABLE order_voids (
        order_id uuid PRIMARY KEY REFERENCES orders (id) DEFERRABLE INITIALLY DEFERRED,
        restaurant_id uuid NOT NULL REFERENCES restaurants (id),
        location_id uuid NOT NULL REFERENCES locations (id),
        employee_id uuid NULL,
        user_id uuid NULL,
        approved_by uuid NULL,
        amount bigint NOT NULL CHECK (amount >= 0),
        voided_at timestamptz NOT NULL DEFAULT now(),
        CHECK (employee_id IS NOT NULL OR user_id IS NOT NULL)
    )
    """,
    "CREATE INDEX order_voids_employee ON order_voids (employee_id, voided_at)"
    " WHERE employee_id IS NOT NULL",
    "CREATE INDEX order_voids_user ON order_voids (user_id, voided_at) WHERE user_id IS NOT NULL",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="orders", description=DESCRIPTION)
    for statement in STATEMENTS:
        manager.add_raw(raw_sql(statement))
    return manager
