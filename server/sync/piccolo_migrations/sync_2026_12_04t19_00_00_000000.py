"""Orders and lines the server wrote beside the sync store before it owned every write (the
demo loader, `fynlo demo`) enter the store, so they reach the iPads and can be voided and
settled like any other. Each becomes a write by the actor ``server`` at its last update."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.raw import raw_sql

ID = "2026-12-04T19:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "orders written beside the store enter it"

_INSTANT = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
_HLC = "lpad((extract(epoch FROM {}) * 1000)::bigint::text, 13, '0') || ':00000:server'"

BACKFILL_ORDERS = f"""
WITH missing AS (
    SELECT o.*, jsonb_strip_nulls(jsonb_build_object(
        'number', o.number, 'device_prefix', o.device_prefix, 'device_seq', o.device_seq,
        'status', o.status, 'opened_at', {_INSTANT.format("o.opened_at")},
        'closed_at', {_INSTANT.format("o.closed_at")}, 'table_id', o.table_id,
        'covers', o.covers, 'notes', o.notes, 'discount_kind', o.discount_kind,
        'discount_value', o.discount_value, 'discount_reason', o.discount_reason,
        'service_charge_bp', o.service_charge_bp, 'tip', o.tip)) AS data
    FROM orders AS o
    WHERE NOT EXISTS (SELECT 1 FROM sync_entities AS s WHERE s.restaurant_id = o.restaurant_id
                      AND s.entity_type = 'order' AND s.entity_id = o.id)
)
INSERT INTO sync_entities (restaurant_id, entity_type, entity_id, location_id, data, clock,
                           field_hlcs, tier)
SELECT restaurant_id, 'order', id, location_id, data, jsonb_build_object('server', 1),
       (SELECT jsonb_object_agg(key, {_HLC.format("updated_at")}) FROM jsonb_object_keys(data)
        AS key),
       CASE WHEN status IN ('open', 'sent') THEN 1 ELSE 2 END
FROM missing
"""

BACKFILL_LINES = f"""
WITH missing AS (
    SELECT l.*, o.location_id, o.status AS order_status, jsonb_strip_nulls(jsonb_build_object(
        'order_id', l.order_id, 'product_id', l.product_id, 'name', l.name,
        'unit_price', l.unit_price, 'quantity', l.quantity, 'vat_rate_bp', l.vat_rate_bp,
        'modifiers', l.modifiers, 'discount_kind', l.discount_kind,
        'discount_value', l.discount_value, 'voided', l.voided, 'notes', l.notes,
        'position', l.position)) AS data
    FROM order_lines AS l JOIN orders AS o ON o.id = l.order_id
    WHERE NOT EXISTS (SELECT 1 FROM sync_entities AS s WHERE s.restaurant_id = l.restaurant_id
                      AND s.entity_type = 'order_line' AND s.entity_id = l.id)
)
INSERT INTO sync_entities (restaurant_id, entity_type, entity_id, location_id, data, clock,
                           field_hlcs, tier)
SELECT restaurant_id, 'order_line', id, location_id, data, jsonb_build_object('server', 1),
       (SELECT jsonb_object_agg(key, {_HLC.format("updated_at")}) FROM jsonb_object_keys(data)
        AS key),
       CASE WHEN order_status IN ('open', 'sent') THEN 1 ELSE 2 END
FROM missing
"""


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="sync", description=DESCRIPTION)
    manager.add_raw(raw_sql(BACKFILL_ORDERS))
    manager.add_raw(raw_sql(BACKFILL_LINES))
    return manager
