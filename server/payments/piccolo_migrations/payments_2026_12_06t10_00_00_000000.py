"""Cards in person: Stripe Terminal, and card payments taken offline.

- ``payments.method`` gains ``card_present`` (Tap to Pay on iPad or a Stripe reader).
- ``payments.reader_id``: the Stripe reader asked to collect the card (None: Tap to Pay).
- ``payments.offline_stored_at``: when an iPad took the card with no network; such a
  payment arrives through sync and is forwarded to Stripe by the iPad later.
- ``payments.capture_hold``: why the server will not capture an authorisation on its own
  (``over_offline_limit``: a manager decides).
- ``terminal_locations``: the Stripe Terminal location of each restaurant location.
- ``terminal_readers``: the readers registered at each location.
- ``payment_policies.offline_card_limit`` / ``offline_card_total``: the caps on card
  payments taken offline, per payment and in total per iPad.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.raw import raw_sql

ID = "2026-12-06T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "cards in person and offline"

STATEMENTS = [
    "ALTER TABLE payments DROP CONSTRAINT payments_method_check",
    "ALTER TABLE payments ADD CONSTRAINT payments_method_check"
    " CHECK (method IN ('open_banking', 'card', 'card_present', 'apple_pay', 'cash'))",
    "ALTER TABLE payments ADD COLUMN reader_id text NULL,"
    " ADD COLUMN offline_stored_at timestamptz NULL,"
    " ADD COLUMN capture_hold text NULL",
    # The sweep's question: offline card payments Stripe has not shown us yet.
    "CREATE INDEX payments_unforwarded ON payments (offline_stored_at)"
    " WHERE offline_stored_at IS NOT NULL AND provider_reference IS NULL",
    """
    CREATE TABLE terminal_locations (
        location_id uuid PRIMARY KEY REFERENCES locations (id),
        restaurant_id uuid NOT NULL REFERENCES restaurants (id),
        stripe_location text NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    """
    CREATE TABLE terminal_readers (
        id text PRIMARY KEY,
        restaurant_id uuid NOT NULL REFERENCES restaurants (id),
        location_id uuid NOT NULL REFERENCES locations (id),
        label text NOT NULL,
        device_type text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    "CREATE INDEX terminal_readers_location ON terminal_readers (location_id)",
    "ALTER TABLE payment_policies"
    " ADD COLUMN offline_card_limit bigint NOT NULL DEFAULT 10000"
    " CHECK (offline_card_limit >= 0),"
    " ADD COLUMN offline_card_total bigint NOT NULL DEFAULT 100000"
    " CHECK (offline_card_total >= 0)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="payments", description=DESCRIPTION)
    for statement in STATEMENTS:
        manager.add_raw(raw_sql(statement))
    return manager
