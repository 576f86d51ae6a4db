"""Catalog bodies on the wire. Prices are VAT-inclusive pence; VAT rates are basis points."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from server.wire import Input, Wire

Name = Annotated[str, Meta(min_length=1, max_length=120)]
Position = Annotated[int, Meta(ge=0, le=1_000_000)]
# £100,000 is far above any menu price and far below an int32 overflow.
Price = Annotated[int, Meta(ge=0, le=10_000_000, description="VAT-inclusive minor units")]
PriceDelta = Annotated[int, Meta(ge=-10_000_000, le=10_000_000)]
VatRate = Annotated[int, Meta(ge=0, le=10_000, description="basis points: 2000 is 20%")]
Choices = Annotated[int, Meta(ge=0, le=50, description="min_choices must not exceed max_choices")]


class Category(Wire, kw_only=True):
    id: UUID
    name: str
    position: int
    archived: bool
    created_at: datetime
    updated_at: datetime


class CategoryCreate(Input, kw_only=True):
    id: UUID | None = None
    name: Name
    position: Position = 0


class CategoryUpdate(Input, kw_only=True):
    name: Name | UnsetType = UNSET
    position: Position | UnsetType = UNSET
    archived: bool | UnsetType = UNSET


class Product(Wire, kw_only=True):
    id: UUID
    category_id: UUID | None
    name: str
    description: str
    sku: str
    price: int
    currency: str
    vat_rate_bp: int
    position: int
    archived: bool
    modifier_group_ids: list[UUID]
    created_at: datetime
    updated_at: datetime


class ProductCreate(Input, kw_only=True):
    id: UUID | None = None
    category_id: UUID | None = None
    name: Name
    description: Annotated[str, Meta(max_length=500)] = ""
    sku: Annotated[str, Meta(max_length=64)] = ""
    price: Price
    vat_rate_bp: VatRate = 2000
    position: Position = 0
    modifier_group_ids: Annotated[list[UUID], Meta(max_length=20)] = msgspec.field(
        default_factory=list
    )


class ProductUpdate(Input, kw_only=True):
    category_id: UUID | UnsetType | None = UNSET
    name: Name | UnsetType = UNSET
    description: Annotated[str, Meta(max_length=500)] | UnsetType = UNSET
    sku: Annotated[str, Meta(max_length=64)] | UnsetType = UNSET
    price: Price | UnsetType = UNSET
    vat_rate_bp: VatRate | UnsetType = UNSET
    position: Position | UnsetType = UNSET
    archived: bool | UnsetType = UNSET
    modifier_group_ids: Annotated[list[UUID], Meta(max_length=20)] | UnsetType = UNSET


class ModifierGroup(Wire, kw_only=True):
    id: UUID
    name: str
    min_choices: int
    max_choices: int
    archived: bool
    created_at: datetime
    updated_at: datetime


class ModifierGroupCreate(Input, kw_only=True):
    id: UUID | None = None
    name: Name
    min_choices: Choices = 0
    max_choices: Choices = 1


class ModifierGroupUpdate(Input, kw_only=True):
    name: Name | UnsetType = UNSET
    min_choices: Choices | UnsetType = UNSET
    max_choices: Choices | UnsetType = UNSET
    archived: bool | UnsetType = UNSET


class Modifier(Wire, kw_only=True):
    id: UUID
    group_id: UUID
    name: str
    price_delta: int
    position: int
    archived: bool
    created_at: datetime
    updated_at: datetime


class ModifierCreate(Input, kw_only=True):
    id: UUID | None = None
    group_id: UUID
    name: Name
    price_delta: PriceDelta = 0
    position: Position = 0


class ModifierUpdate(Input, kw_only=True):
    name: Name | UnsetType = UNSET
    price_delta: PriceDelta | UnsetType = UNSET
    position: Position | UnsetType = UNSET
    archived: bool | UnsetType = UNSET


class Availability(Wire, kw_only=True):
    """A product's state at one location; 86'd means sold out."""

    location_id: UUID
    product_id: UUID
    sold_out: bool
    updated_at: datetime | None


class AvailabilitySet(Input, kw_only=True):
    location_id: UUID
    product_id: UUID
    sold_out: bool
