"""The sync engine's tables: entity states with their feed position, device progress,
per-change results (for exactly-once replies), the quarantine and the conflict log."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.raw import raw_sql

ID = "2026-11-26T18:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "sync engine tables"

STATEMENTS = [
    # Ties inside one transaction (same xid) are ordered by this sequence.
    "CREATE SEQUENCE sync_change_seq",
    """
    CREATE TABLE sync_entities (
        restaurant_id uuid NOT NULL REFERENCES restaurants (id),
        entity_type text NOT NULL,
        entity_id uuid NOT NULL,
        location_id uuid NULL REFERENCES locations (id),
        data jsonb NOT NULL,
        clock jsonb NOT NULL,
        field_hlcs jsonb NOT NULL,
        deleted boolean NOT NULL DEFAULT false,
        tier smallint NOT NULL DEFAULT 9,
        change_xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
        change_seq bigint NOT NULL DEFAULT nextval('sync_change_seq'),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (restaurant_id, entity_type, entity_id)
    )
    """,
    "CREATE INDEX sync_entities_feed ON sync_entities (restaurant_id, change_xid, change_seq)",
    # Bootstrap pages walk a snapshot in priority order: menu and floor, open orders, the rest.
    "CREATE INDEX sync_entities_snapshot ON sync_entities"
    " (restaurant_id, tier, entity_type, entity_id) WHERE NOT deleted",
    """
    CREATE TABLE sync_devices (
        device_id uuid PRIMARY KEY REFERENCES devices (id),
        restaurant_id uuid NOT NULL REFERENCES restaurants (id),
        location_id uuid NOT NULL REFERENCES locations (id),
        last_seq bigint NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
        last_batch_id uuid NULL,
        schema_version integer NULL,
        app_version text NULL,
        last_push_at timestamptz NULL,
        last_pull_at timestamptz NULL,
        pulled_xid xid8 NULL
    )
    """,
    """
    CREATE TABLE sync_results (
        device_id uuid NOT NULL REFERENCES devices (id),
        seq bigint NOT NULL,
        batch_id uuid NOT NULL,
        result jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (device_id, seq)
    )
    """,
    """
    CREATE TABLE sync_quarantine (
        id bigserial PRIMARY KEY,
        restaurant_id uuid NOT NULL REFERENCES restaurants (id),
        location_id uuid NOT NULL REFERENCES locations (id),
        device_id uuid NOT NULL REFERENCES devices (id),
        batch_id uuid NOT NULL,
        seq bigint NOT NULL,
        change jsonb NOT NULL,
        reason text NOT NULL,
        detail text NOT NULL,
        at timestamptz NOT NULL DEFAULT now()
    )
    """,
    "CREATE INDEX sync_quarantine_restaurant ON sync_quarantine (restaurant_id, id DESC)",
    """
    CREATE TABLE sync_conflicts (
        id bigserial PRIMARY KEY,
        restaurant_id uuid NOT NULL REFERENCES restaurants (id),
        location_id uuid NULL REFERENCES locations (id),
        entity_type text NOT NULL,
        entity_id uuid NOT NULL,
        device_id uuid NOT NULL REFERENCES devices (id),
        rule text NOT NULL,
        current jsonb NOT NULL,
        incoming jsonb NOT NULL,
        outcome jsonb NOT NULL,
        at timestamptz NOT NULL DEFAULT now()
    )
    """,
    "CREATE INDEX sync_conflicts_restaurant ON sync_conflicts (restaurant_id, id DESC)",
    """
    CREATE TABLE sync_horizons (
        restaurant_id uuid PRIMARY KEY REFERENCES restaurants (id),
        purged_xid xid8 NOT NULL
    )
    """,
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="sync", description=DESCRIPTION)
    for statement in STATEMENTS:
        manager.add_raw(raw_sql(statement))
    return manager
