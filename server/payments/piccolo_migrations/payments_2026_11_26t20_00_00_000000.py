"""Payments, refunds, the idempotency store, provider events and the surcharge policy."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.raw import raw_sql

ID = "2026-11-26T20:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "payments tables"

STATES = "'created', 'awaiting_customer', 'authorizing', 'succeeded', 'failed', 'expired', 'canceled'"

STATEMENTS = [
    """
    CREATE TABLE payment_policies (
        restaurant_id uuid PRIMARY KEY REFERENCES restaurants (id),
        surcharge text NOT NULL DEFAULT 'absorb' CHECK (surcharge IN ('absorb', 'pass_on')),
        updated_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    f"""
    CREATE TABLE payments (
        id uuid PRIMARY KEY,
        restaurant_id uuid NOT NULL REFERENCES restaurants (id),
        location_id uuid NOT NULL REFERENCES locations (id),
        order_id uuid NOT NULL REFERENCES orders (id),
        method text NOT NULL CHECK (method IN ('open_banking', 'card', 'apple_pay', 'cash')),
        provider text NOT NULL CHECK (provider IN ('open_banking', 'stripe', 'cash')),
        state text NOT NULL CHECK (state IN ({STATES})),
        currency char(3) NOT NULL,
        amount bigint NOT NULL CHECK (amount > 0),
        tip bigint NOT NULL DEFAULT 0 CHECK (tip >= 0),
        surcharge bigint NOT NULL DEFAULT 0 CHECK (surcharge >= 0),
        charged bigint GENERATED ALWAYS AS (amount + tip + surcharge) STORED,
        tendered bigint NULL CHECK (tendered IS NULL OR tendered >= amount + tip),
        fee_schedule text NOT NULL,
        estimated_provider_fee bigint NOT NULL CHECK (estimated_provider_fee >= 0),
        platform_fee bigint NOT NULL CHECK (platform_fee >= 0),
        provider_fee bigint NULL CHECK (provider_fee >= 0),
        provider_reference text NULL,
        link text NULL,
        client_secret text NULL,
        failure_reason text NULL,
        expires_at timestamptz NULL,
        employee_id uuid NULL REFERENCES employees (id),
        device_id uuid NULL REFERENCES devices (id),
        source text NOT NULL DEFAULT 'api' CHECK (source IN ('api', 'sync')),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        succeeded_at timestamptz NULL,
        UNIQUE (provider, provider_reference)
    )
    """,
    "CREATE INDEX payments_order ON payments (order_id)",
    "CREATE INDEX payments_restaurant_created ON payments (restaurant_id, created_at DESC, id)",
    # The poller's work list: payments that have not reached an ending.
    "CREATE INDEX payments_unsettled ON payments (created_at)"
    " WHERE state IN ('created', 'awaiting_customer', 'authorizing')",
    """
    CREATE TABLE refunds (
        id uuid PRIMARY KEY,
        restaurant_id uuid NOT NULL REFERENCES restaurants (id),
        payment_id uuid NOT NULL REFERENCES payments (id),
        amount bigint NOT NULL CHECK (amount > 0),
        currency char(3) NOT NULL,
        state text NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
        reason text NOT NULL,
        provider_reference text NULL,
        failure_reason text NULL,
        requested_by uuid NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    "CREATE INDEX refunds_payment ON refunds (payment_id)",
    "CREATE INDEX refunds_pending ON refunds (created_at) WHERE state = 'pending'",
    # Every state change, and every event that could not change anything, for support.
    """
    CREATE TABLE payment_events (
        id bigserial PRIMARY KEY,
        restaurant_id uuid NOT NULL REFERENCES restaurants (id),
        payment_id uuid NOT NULL REFERENCES payments (id),
        refund_id uuid NULL REFERENCES refunds (id),
        source text NOT NULL,
        provider_event_id text NULL,
        from_state text NOT NULL,
        to_state text NOT NULL,
        applied boolean NOT NULL,
        at timestamptz NOT NULL DEFAULT now()
    )
    """,
    "CREATE INDEX payment_events_payment ON payment_events (payment_id, id)",
    # Webhooks are delivered at least once: an event id seen before changes nothing.
    """
    CREATE TABLE provider_events (
        provider text NOT NULL,
        event_id text NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (provider, event_id)
    )
    """,
    # Idempotency-Key: written in the same transaction as the effect; the lease stops two
    # concurrent requests with one key from both working, and lets a crashed one be resumed.
    """
    CREATE TABLE idempotency_keys (
        restaurant_id uuid NOT NULL REFERENCES restaurants (id),
        key text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
        fingerprint text NOT NULL,
        resource_id uuid NULL,
        status_code integer NULL,
        response bytea NULL,
        leased_until timestamptz NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        PRIMARY KEY (restaurant_id, key)
    )
    """,
    "CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="payments", description=DESCRIPTION)
    for statement in STATEMENTS:
        manager.add_raw(raw_sql(statement))
    return manager
