"""Lost answers and refund limits.

- ``payments.payment_method``: the card (a Stripe PaymentMethod id, never card details) the
  till asked us to charge, so whoever resumes a payment whose answer was lost can finish it
  with the same card and the same idempotency key.
- Card and Apple Pay payments get a deadline like a QR code's (15 minutes), so one nobody
  comes back for is canceled at Stripe instead of holding its order; the ones already
  waiting get theirs from when they were made.
- ``payment_policies.refund_limit_count`` / ``refund_limit_amount``: what one employee may
  refund in a day without a manager's approval.
- Indexes for the two new questions: "is a request working on this payment?" and "what has
  this employee refunded today?".
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.raw import raw_sql

ID = "2026-12-05T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "lost answers and refund limits"

STATEMENTS = [
    "ALTER TABLE payments ADD COLUMN payment_method text NULL",
    "UPDATE payments SET expires_at = created_at + interval '15 minutes'"
    " WHERE method IN ('card', 'apple_pay') AND expires_at IS NULL"
    " AND state IN ('created', 'awaiting_customer', 'authorizing')",
    "ALTER TABLE payment_policies"
    " ADD COLUMN refund_limit_count integer NOT NULL DEFAULT 5"
    " CHECK (refund_limit_count >= 0),"
    " ADD COLUMN refund_limit_amount bigint NOT NULL DEFAULT 10000"
    " CHECK (refund_limit_amount >= 0)",
    "CREATE INDEX refunds_requested_by ON refunds (requested_by, created_at)"
    " WHERE requested_by IS NOT NULL",
    "CREATE INDEX idempotency_keys_resource ON idempotency_keys (resource_id)"
    " WHERE resource_id IS NOT NULL",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="payments", description=DESCRIPTION)
    for statement in STATEMENTS:
        manager.add_raw(raw_sql(statement))
    return manager
