"""Pay by bank as TrueLayer runs it: the payer's details, settlement, late outcomes.

- ``payments.payer_token``: the secret in the QR's link to our payer page (pay by bank);
  the page asks the payer's name and email or phone before the bank step, because
  TrueLayer requires them.
- ``payments.payer``: what the payer typed, kept so a create whose answer was lost is sent
  again with exactly the same body.
- ``payments.settlement`` / ``settled_at``: where pay-by-bank money stands after the bank
  executed it (executed, creditable, settled, stalled, reversed).
- ``payments.late_success_at``: the provider took the money after we had ended the payment
  (expired, canceled): it counts as succeeded and a manager is told.
- ``payments.acknowledged_at`` / ``acknowledged_by``: a manager has seen the payment's
  problem and decided (kept the money, or stopped waiting for it).
- ``payments.merchant_account_id``: the restaurant's own account the payment was made into.
- ``payments.authorizing_at``: when the payment reached ``authorizing`` (the payer is at
  their bank, or it approved): a bank payment there too long is on the attention list.
- ``merchant_accounts``: a restaurant's own pay-by-bank merchant account per currency.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.raw import raw_sql

ID = "2026-12-07T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "pay by bank as the provider runs it"

STATEMENTS = [
    "ALTER TABLE payments ADD COLUMN payer_token text NULL,"
    " ADD COLUMN payer jsonb NULL,"
    " ADD COLUMN settlement text NULL CHECK (settlement IN"
    " ('executed', 'creditable', 'settled', 'stalled', 'reversed')),"
    " ADD COLUMN settled_at timestamptz NULL,"
    " ADD COLUMN late_success_at timestamptz NULL,"
    " ADD COLUMN acknowledged_at timestamptz NULL,"
    " ADD COLUMN acknowledged_by uuid NULL,"
    " ADD COLUMN merchant_account_id text NULL,"
    " ADD COLUMN authorizing_at timestamptz NULL",
    # The attention list's question: bank money not settled, late, or stuck authorised.
    "CREATE INDEX payments_attention ON payments (restaurant_id, updated_at)"
    " WHERE acknowledged_at IS NULL AND (settlement IN ('stalled', 'reversed')"
    " OR late_success_at IS NOT NULL OR (method = 'open_banking' AND state = 'authorizing')"
    " OR offline_stored_at IS NOT NULL)",
    """
    CREATE TABLE merchant_accounts (
        restaurant_id uuid NOT NULL REFERENCES restaurants (id),
        currency char(3) NOT NULL,
        merchant_account_id text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (restaurant_id, currency)
    )
    """,
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="payments", description=DESCRIPTION)
    for statement in STATEMENTS:
        manager.add_raw(raw_sql(statement))
    return manager
