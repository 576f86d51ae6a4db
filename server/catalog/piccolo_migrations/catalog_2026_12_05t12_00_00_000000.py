"""Price history (issue 13): every price a product or modifier has had, and since when, so the
server can check a line's price against the menu in force when the line was taken (see
server/catalog/prices.py).

Written in SQL, as the sync and payments tables are: the key is (restaurant, kind, item,
valid_from), which Piccolo's column API cannot declare, so Piccolo keeps no table class for
it. Product and modifier ids may be chosen by the client, so the kind is part of the key.

Existing items get one row each, valid from their creation: their earlier prices are
unknown, and a line taken before that instant is checked against this first price.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.raw import raw_sql

ID = "2026-12-05T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "catalog price history"

STATEMENTS = [
    """
    CREATE TABLE catalog_prices (
        restaurant_id uuid NOT NULL REFERENCES restaurants (id),
        kind text NOT NULL CHECK (kind IN ('product', 'modifier')),
        item_id uuid NOT NULL,
        price integer NOT NULL,
        vat_rate_bp integer NULL CHECK (vat_rate_bp BETWEEN 0 AND 10000),
        valid_from timestamptz NOT NULL,
        PRIMARY KEY (restaurant_id, kind, item_id, valid_from),
        CONSTRAINT catalog_prices_vat_for_products
            CHECK ((kind = 'product') = (vat_rate_bp IS NOT NULL))
    )
    """,
]

# Items without history (all of them when this runs; safe to run again).
BACKFILL_PRICES = """
INSERT INTO catalog_prices (restaurant_id, kind, item_id, price, vat_rate_bp, valid_from)
SELECT restaurant_id, 'product', id, price, vat_rate_bp, created_at FROM products AS p
WHERE NOT EXISTS (SELECT 1 FROM catalog_prices AS h
                  WHERE h.kind = 'product' AND h.item_id = p.id
                    AND h.restaurant_id = p.restaurant_id)
UNION ALL
SELECT restaurant_id, 'modifier', id, price_delta, NULL, created_at FROM modifiers AS m
WHERE NOT EXISTS (SELECT 1 FROM catalog_prices AS h
                  WHERE h.kind = 'modifier' AND h.item_id = m.id
                    AND h.restaurant_id = m.restaurant_id)
"""


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="catalog", description=DESCRIPTION)
    for statement in STATEMENTS:
        manager.add_raw(raw_sql(statement))
    manager.add_raw(raw_sql(BACKFILL_PRICES))
    return manager
