"""Menu tables. Prices are VAT-inclusive integer pence; VAT rates are basis points."""

from __future__ import annotations

from piccolo.columns import Boolean, ForeignKey, Integer, OnDelete, Varchar
from piccolo.table import Table

from server.db.columns import created_at_column, id_column, updated_at_column
from server.restaurants.tables import Location, Restaurant


class Category(Table, tablename="categories"):
    """A heading on the menu (Starters, Mains, Drinks)."""

    id = id_column()
    restaurant_id = ForeignKey(references=Restaurant, on_delete=OnDelete.restrict, null=False)
    name = Varchar(length=120)
    position = Integer(default=0, help_text="Display order, lowest first.")
    archived = Boolean(default=False)
    created_at = created_at_column()
    updated_at = updated_at_column()


class Product(Table, tablename="products"):
    """Something on the menu that can be sold."""

    id = id_column()
    restaurant_id = ForeignKey(references=Restaurant, on_delete=OnDelete.restrict, null=False)
    category_id = ForeignKey(references=Category, on_delete=OnDelete.set_null, null=True)
    name = Varchar(length=120)
    description = Varchar(length=500, default="")
    sku = Varchar(length=64, default="")
    price = Integer(help_text="VAT-inclusive price in minor units (pence).")
    vat_rate_bp = Integer(default=2000, help_text="VAT rate in basis points: 2000 is 20%.")
    position = Integer(default=0)
    archived = Boolean(default=False, help_text="Off the menu; kept for past orders.")
    created_at = created_at_column()
    updated_at = updated_at_column()


class ModifierGroup(Table, tablename="modifier_groups"):
    """A choice offered with a product (Sauce: pick 0 to 2)."""

    id = id_column()
    restaurant_id = ForeignKey(references=Restaurant, on_delete=OnDelete.restrict, null=False)
    name = Varchar(length=120)
    min_choices = Integer(default=0)
    max_choices = Integer(default=1)
    archived = Boolean(default=False)
    created_at = created_at_column()
    updated_at = updated_at_column()


class Modifier(Table, tablename="modifiers"):
    """One option in a modifier group, with a price delta in pence (may be negative)."""

    id = id_column()
    restaurant_id = ForeignKey(references=Restaurant, on_delete=OnDelete.restrict, null=False)
    group_id = ForeignKey(references=ModifierGroup, on_delete=OnDelete.cascade, null=False)
    name = Varchar(length=120)
    price_delta = Integer(default=0, help_text="Added to the unit price, VAT-inclusive pence.")
    position = Integer(default=0)
    archived = Boolean(default=False)
    created_at = created_at_column()
    updated_at = updated_at_column()


class ProductModifierGroup(Table, tablename="product_modifier_groups"):
    """Which modifier groups a product offers, in order."""

    id = id_column()
    restaurant_id = ForeignKey(references=Restaurant, on_delete=OnDelete.restrict, null=False)
    product_id = ForeignKey(references=Product, on_delete=OnDelete.cascade, null=False)
    group_id = ForeignKey(references=ModifierGroup, on_delete=OnDelete.cascade, null=False)
    position = Integer(default=0)


class Availability(Table, tablename="availability"):
    """A product 86'd (sold out) at one location; no row means available."""

    id = id_column()
    restaurant_id = ForeignKey(references=Restaurant, on_delete=OnDelete.restrict, null=False)
    location_id = ForeignKey(references=Location, on_delete=OnDelete.cascade, null=False)
    product_id = ForeignKey(references=Product, on_delete=OnDelete.cascade, null=False)
    sold_out = Boolean(default=True)
    updated_at = updated_at_column()


# ``catalog_prices`` (every price a product or modifier has had, and since when) is written
# and read in SQL by ``catalog/prices.py``; its key is composite, so, like the sync and
# payments tables, it has no Piccolo class (migration catalog_2026_12_05t12_00_00_000000).
