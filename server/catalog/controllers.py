"""Catalog HTTP handlers: decode, call one service, return a Struct."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from server.auth.dependencies import allow
from server.auth.permissions import Permission
from server.auth.tokens import Caller
from server.catalog import schemas as s
from server.catalog import services
from server.pagination import Page, decode_cursor, page_size


class CategoryController(Controller):
    path = "/api/v1/categories"
    tags = ["catalog"]

    @get(opt=allow(Permission.catalog_view))
    async def list_categories(
        self,
        caller: NamedDependency[Caller],
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int | None] = None,
        include_archived: FromQuery[bool] = False,
    ) -> Page[s.Category]:
        return await services.list_categories(
            restaurant_id=caller.restaurant_id,
            include_archived=include_archived,
            after=decode_cursor(cursor),
            limit=page_size(limit),
        )

    @post(opt=allow(Permission.catalog_edit))
    async def create_category(
        self, caller: NamedDependency[Caller], data: JSONBody[s.CategoryCreate]
    ) -> s.Category:
        return await services.create_category(restaurant_id=caller.restaurant_id, body=data)

    @get("/{category_id:uuid}", opt=allow(Permission.catalog_view))
    async def get_category(
        self, caller: NamedDependency[Caller], category_id: FromPath[UUID]
    ) -> s.Category:
        return await services.get_category(
            restaurant_id=caller.restaurant_id, category_id=category_id
        )

    @patch("/{category_id:uuid}", opt=allow(Permission.catalog_edit))
    async def update_category(
        self,
        caller: NamedDependency[Caller],
        category_id: FromPath[UUID],
        data: JSONBody[s.CategoryUpdate],
    ) -> s.Category:
        return await services.update_category(
            restaurant_id=caller.restaurant_id, category_id=category_id, body=data
        )

    @delete("/{category_id:uuid}", summary="Archive a category", opt=allow(Permission.catalog_edit))
    async def archive_category(
        self, caller: NamedDependency[Caller], category_id: FromPath[UUID]
    ) -> None:
        await services.update_category(
            restaurant_id=caller.restaurant_id,
            category_id=category_id,
            body=s.CategoryUpdate(archived=True),
        )


class ProductController(Controller):
    path = "/api/v1/products"
    tags = ["catalog"]

    @get(opt=allow(Permission.catalog_view))
    async def list_products(
        self,
        caller: NamedDependency[Caller],
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int | None] = None,
        include_archived: FromQuery[bool] = False,
    ) -> Page[s.Product]:
        return await services.list_products(
            restaurant_id=caller.restaurant_id,
            include_archived=include_archived,
            after=decode_cursor(cursor),
            limit=page_size(limit),
        )

    @post(opt=allow(Permission.catalog_edit))
    async def create_product(
        self, caller: NamedDependency[Caller], data: JSONBody[s.ProductCreate]
    ) -> s.Product:
        return await services.create_product(restaurant_id=caller.restaurant_id, body=data)

    @get("/{product_id:uuid}", opt=allow(Permission.catalog_view))
    async def get_product(
        self, caller: NamedDependency[Caller], product_id: FromPath[UUID]
    ) -> s.Product:
        return await services.get_product(restaurant_id=caller.restaurant_id, product_id=product_id)

    @patch("/{product_id:uuid}", opt=allow(Permission.catalog_edit))
    async def update_product(
        self,
        caller: NamedDependency[Caller],
        product_id: FromPath[UUID],
        data: JSONBody[s.ProductUpdate],
    ) -> s.Product:
        return await services.update_product(
            restaurant_id=caller.restaurant_id, product_id=product_id, body=data
        )

    @delete(
        "/{product_id:uuid}",
        summary="Archive a product (past orders keep it)",
        opt=allow(Permission.catalog_edit),
    )
    async def archive_product(
        self, caller: NamedDependency[Caller], product_id: FromPath[UUID]
    ) -> None:
        await services.update_product(
            restaurant_id=caller.restaurant_id,
            product_id=product_id,
            body=s.ProductUpdate(archived=True),
        )


class ModifierGroupController(Controller):
    path = "/api/v1/modifier-groups"
    tags = ["catalog"]

    @get(opt=allow(Permission.catalog_view))
    async def list_modifier_groups(
        self,
        caller: NamedDependency[Caller],
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int | None] = None,
        include_archived: FromQuery[bool] = False,
    ) -> Page[s.ModifierGroup]:
        return await services.list_modifier_groups(
            restaurant_id=caller.restaurant_id,
            include_archived=include_archived,
            after=decode_cursor(cursor),
            limit=page_size(limit),
        )

    @post(opt=allow(Permission.catalog_edit))
    async def create_modifier_group(
        self, caller: NamedDependency[Caller], data: JSONBody[s.ModifierGroupCreate]
    ) -> s.ModifierGroup:
        return await services.create_modifier_group(restaurant_id=caller.restaurant_id, body=data)

    @get("/{group_id:uuid}", opt=allow(Permission.catalog_view))
    async def get_modifier_group(
        self, caller: NamedDependency[Caller], group_id: FromPath[UUID]
    ) -> s.ModifierGroup:
        return await services.get_modifier_group(
            restaurant_id=caller.restaurant_id, group_id=group_id
        )

    @patch("/{group_id:uuid}", opt=allow(Permission.catalog_edit))
    async def update_modifier_group(
        self,
        caller: NamedDependency[Caller],
        group_id: FromPath[UUID],
        data: JSONBody[s.ModifierGroupUpdate],
    ) -> s.ModifierGroup:
        return await services.update_modifier_group(
            restaurant_id=caller.restaurant_id, group_id=group_id, body=data
        )

    @delete(
        "/{group_id:uuid}", summary="Archive a modifier group", opt=allow(Permission.catalog_edit)
    )
    async def archive_modifier_group(
        self, caller: NamedDependency[Caller], group_id: FromPath[UUID]
    ) -> None:
        await services.update_modifier_group(
            restaurant_id=caller.restaurant_id,
            group_id=group_id,
            body=s.ModifierGroupUpdate(archived=True),
        )


class ModifierController(Controller):
    path = "/api/v1/modifiers"
    tags = ["catalog"]

    @get(opt=allow(Permission.catalog_view))
    async def list_modifiers(
        self,
        caller: NamedDependency[Caller],
        group_id: FromQuery[UUID | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int | None] = None,
        include_archived: FromQuery[bool] = False,
    ) -> Page[s.Modifier]:
        return await services.list_modifiers(
            restaurant_id=caller.restaurant_id,
            group_id=group_id,
            include_archived=include_archived,
            after=decode_cursor(cursor),
            limit=page_size(limit),
        )

    @post(opt=allow(Permission.catalog_edit))
    async def create_modifier(
        self, caller: NamedDependency[Caller], data: JSONBody[s.ModifierCreate]
    ) -> s.Modifier:
        return await services.create_modifier(restaurant_id=caller.restaurant_id, body=data)

    @get("/{modifier_id:uuid}", opt=allow(Permission.catalog_view))
    async def get_modifier(
        self, caller: NamedDependency[Caller], modifier_id: FromPath[UUID]
    ) -> s.Modifier:
        return await services.get_modifier(
            restaurant_id=caller.restaurant_id, modifier_id=modifier_id
        )

    @patch("/{modifier_id:uuid}", opt=allow(Permission.catalog_edit))
    async def update_modifier(
        self,
        caller: NamedDependency[Caller],
        modifier_id: FromPath[UUID],
        data: JSONBody[s.ModifierUpdate],
    ) -> s.Modifier:
        return await services.update_modifier(
            restaurant_id=caller.restaurant_id, modifier_id=modifier_id, body=data
        )

    @delete("/{modifier_id:uuid}", summary="Archive a modifier", opt=allow(Permission.catalog_edit))
    async def archive_modifier(
        self, caller: NamedDependency[Caller], modifier_id: FromPath[UUID]
    ) -> None:
        await services.update_modifier(
            restaurant_id=caller.restaurant_id,
            modifier_id=modifier_id,
            body=s.ModifierUpdate(archived=True),
        )


class AvailabilityController(Controller):
    path = "/api/v1/availability"
    tags = ["catalog"]

    @get(summary="Products sold out (86'd) at a location", opt=allow(Permission.catalog_view))
    async def list_sold_out(
        self, caller: NamedDependency[Caller], location_id: FromQuery[UUID]
    ) -> list[s.Availability]:
        return await services.list_sold_out(
            restaurant_id=caller.restaurant_id, location_id=location_id
        )

    @put(
        summary="86 a product at a location, or bring it back",
        opt=allow(Permission.availability_set),
    )
    async def set_availability(
        self, caller: NamedDependency[Caller], data: JSONBody[s.AvailabilitySet]
    ) -> s.Availability:
        return await services.set_availability(restaurant_id=caller.restaurant_id, body=data)
