"""Each stored state keeps its wire form: ``state_json`` is the entity's ``EntityState`` as
JSON (docs/sync-protocol.md), written once when the state is, so a pull returns the stored
text and the server passes it on without parsing it (``server/sync/feed.py``;
docs/performance.md, "Sync engine").

A generated column, so every writer keeps it right without knowing about it. Its members are
in the order msgspec writes an ``EntityState``; ``data`` and ``clock`` are jsonb's own text
(", " and ": " between items, the same values). ``hlc`` is the newest of ``field_hlcs``: HLC
texts are fixed-width, so the greatest in byte order (``COLLATE "C"``, whatever the
database's collation) is the newest, as Python's ``max`` finds it. The function is declared
immutable because its result depends on its arguments alone (``to_json`` of text and the
text forms of uuid, jsonb and boolean read no setting). PL/pgSQL, not SQL: a SQL function
that cannot be inlined costs about three times as much per row. Adding the column rewrites
``sync_entities`` once.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.raw import raw_sql

ID = "2026-12-20T11:05:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "stored wire form of each synced state"

STATEMENTS = [
    """
    CREATE FUNCTION sync_state_json(
        entity_type text, entity_id uuid, location_id uuid, data jsonb, clock jsonb,
        deleted boolean, field_hlcs jsonb
    ) RETURNS text LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $body$
    DECLARE
        newest text;
    BEGIN
        SELECT max(hlc COLLATE "C") INTO newest FROM jsonb_each_text(field_hlcs) AS f(field, hlc);
        RETURN '{"entity_type":' || to_json(entity_type)::text
            || ',"entity_id":"' || entity_id::text
            || '","location_id":' || coalesce('"' || location_id::text || '"', 'null')
            || ',"data":' || data::text
            || ',"clock":' || clock::text
            || ',"deleted":' || deleted::text
            || ',"hlc":' || coalesce(to_json(newest)::text, 'null')
            || '}';
    END
    $body$
    """,
    """
    ALTER TABLE sync_entities ADD COLUMN state_json text GENERATED ALWAYS AS (
        sync_state_json(entity_type, entity_id, location_id, data, clock, deleted, field_hlcs)
    ) STORED
    """,
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="sync", description=DESCRIPTION)
    for statement in STATEMENTS:
        # Piccolo reads "{}" in raw SQL as a parameter: the JSON's braces are doubled.
        manager.add_raw(raw_sql(statement.replace("{", "{{").replace("}", "}}")))
    return manager
