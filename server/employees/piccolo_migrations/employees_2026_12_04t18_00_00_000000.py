"""PIN rules per restaurant, and no more hard PIN lockout (issue 13).

- ``pin_policies``: whether a restaurant allows four-digit PINs (six by default). Restaurants
  that already have PINs when this runs were made under the old four-digit rule, so they keep
  it allowed (their staff would otherwise be locked out at the deploy), with an audit entry
  saying so; their owners can turn it off.
- ``employees.pin_failures`` and ``pin_locked_at`` go: wrong PINs are now counted per iPad in
  ``sign_in_throttle`` (the auth app), which never locks a PIN everywhere.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.raw import raw_sql

ID = "2026-12-04T18:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "pin policies; wrong PINs counted per iPad"

STATEMENTS = [
    """
    CREATE TABLE pin_policies (
        restaurant_id uuid PRIMARY KEY REFERENCES restaurants (id),
        allow_four_digit_pins boolean NOT NULL DEFAULT false,
        changed_at timestamptz NULL,
        changed_by uuid NULL
    )
    """,
    """
    INSERT INTO pin_policies (restaurant_id, allow_four_digit_pins)
    SELECT DISTINCT restaurant_id, true FROM employees WHERE pin_hash IS NOT NULL
    """,
    # audit_log belongs to another app; on a fresh database there is nothing to record.
    """
    DO $$
    BEGIN
        IF to_regclass('audit_log') IS NOT NULL THEN
            INSERT INTO audit_log (restaurant_id, at, action, actor_kind, target_type,
                                   target_id, details)
            SELECT restaurant_id, now(), 'employees.pin_policy', 'system', 'restaurant',
                   restaurant_id::text,
                   jsonb_build_object('allow_four_digit_pins', true, 'was', true,
                                      'reason', 'PINs set before six digits were the default')
            FROM pin_policies;
        END IF;
    END
    $$
    """,
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="employees", description=DESCRIPTION)
    for statement in STATEMENTS:
        manager.add_raw(raw_sql(statement))
    manager.drop_column(
        table_class_name="Employee",
        tablename="employees",
        column_name="pin_failures",
        db_column_name="pin_failures",
    )
    manager.drop_column(
        table_class_name="Employee",
        tablename="employees",
        column_name="pin_locked_at",
        db_column_name="pin_locked_at",
    )
    return manager
