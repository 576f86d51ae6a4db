"""Stripe Terminal set-up: each location's Terminal location, its readers, and the
connection tokens the iPad's Terminal SDK asks for
(docs.stripe.com/terminal/fleet/locations-and-zones).

A restaurant location is registered once with Stripe (its address: Stripe requires one), and
readers are registered to it with the code they show. An iPad's connection token is scoped
to its own location, so its SDK can only discover and connect to that location's readers and
use Tap to Pay there.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg
from stripe.params.terminal._location_create_params import LocationCreateParamsAddress

from server.db.engine import connection, transaction
from server.errors import NotFound, ValidationFailed
from server.payments import errors as e
from server.payments import gateway
from server.payments import schemas as s
from server.payments.errors import ProviderDown
from server.payments.providers.base import ProviderRefused, ProviderUnavailable
from server.payments.providers.stripe import StripeProvider

NEEDS_STATE = frozenset({"AU", "CA", "ES", "IT", "US"})
"""Countries where Stripe needs a Terminal location's state (docs.stripe.com/terminal/fleet/
locations-and-zones): asked for here, before Stripe is, so the field at fault is named."""


def _stripe() -> StripeProvider:
    try:
        provider = gateway.current().provider("stripe")
    except ProviderUnavailable as exc:
        raise ProviderDown(str(exc)) from exc
    assert isinstance(provider, StripeProvider)
    return provider


async def set_up_location(
    *, restaurant_id: UUID, location_id: UUID, data: s.TerminalLocationSetup
) -> s.TerminalLocation:
    """Register ``location_id`` with Stripe Terminal, once (a repeat answers the first)."""
    async with connection() as conn:
        location = await conn.fetchrow(
            "SELECT l.name, t.stripe_location FROM locations l LEFT JOIN terminal_locations t"
            " ON t.location_id = l.id WHERE l.id = $1 AND l.restaurant_id = $2",
            location_id,
            restaurant_id,
        )
    if location is None:
        raise NotFound("no such location")
    if location["stripe_location"] is not None:
        return s.TerminalLocation(
            location_id=location_id, stripe_location=location["stripe_location"]
        )
    address: LocationCreateParamsAddress = {
        "line1": data.line1,
        "city": data.city,
        "postal_code": data.postal_code,
        "country": data.country,
    }
    if data.line2:
        address["line2"] = data.line2
    if data.state:
        address["state"] = data.state
    elif data.country in NEEDS_STATE:
        raise ValidationFailed(f"state is required for an address in {data.country}", field="state")
    try:
        made = await _stripe().create_location(
            location_id, {"display_name": location["name"], "address": address}
        )
    except ProviderUnavailable as exc:
        raise ProviderDown(str(exc), retry_after_seconds=5) from exc
    except ProviderRefused as exc:
        raise ValidationFailed(f"Stripe refused the address: {exc}", field="address") from exc
    async with transaction() as conn:
        stored = await conn.fetchval(
            "INSERT INTO terminal_locations (location_id, restaurant_id, stripe_location)"
            " VALUES ($1, $2, $3) ON CONFLICT (location_id) DO UPDATE"
            " SET location_id = EXCLUDED.location_id RETURNING stripe_location",
            location_id,
            restaurant_id,
            made,
        )
    return s.TerminalLocation(location_id=location_id, stripe_location=stored)


async def _stripe_location(restaurant_id: UUID, location_id: UUID) -> str:
    async with connection() as conn:
        found: str | None = await conn.fetchval(
            "SELECT stripe_location FROM terminal_locations"
            " WHERE location_id = $1 AND restaurant_id = $2",
            location_id,
            restaurant_id,
        )
    if found is None:
        raise e.TerminalNotSetUp(field="location_id")
    return found


async def connection_token(*, restaurant_id: UUID, location_id: UUID) -> s.ConnectionToken:
    stripe_location = await _stripe_location(restaurant_id, location_id)
    try:
        secret = await _stripe().connection_token(stripe_location)
    except ProviderUnavailable as exc:
        raise ProviderDown(str(exc), retry_after_seconds=5) from exc
    except ProviderRefused as exc:
        raise ProviderDown(f"Stripe refused a connection token: {exc}") from exc
    return s.ConnectionToken(secret=secret, stripe_location=stripe_location)


async def register_reader(*, restaurant_id: UUID, data: s.ReaderRegistration) -> s.Reader:
    stripe_location = await _stripe_location(restaurant_id, data.location_id)
    try:
        reader_id, device_type = await _stripe().register_reader(
            location=stripe_location, registration_code=data.registration_code, label=data.label
        )
    except ProviderUnavailable as exc:
        raise ProviderDown(str(exc), retry_after_seconds=5) from exc
    except ProviderRefused as exc:
        raise ValidationFailed(
            f"Stripe refused the reader: {exc}", field="registration_code", reason=exc.reason
        ) from exc
    async with transaction() as conn:
        row = await conn.fetchrow(
            "INSERT INTO terminal_readers (id, restaurant_id, location_id, label, device_type)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET label = EXCLUDED.label"
            " WHERE terminal_readers.restaurant_id = EXCLUDED.restaurant_id RETURNING *",
            reader_id,
            restaurant_id,
            data.location_id,
            data.label,
            device_type,
        )
    if row is None:  # Stripe gave an id another restaurant registered: never theirs to see
        raise ValidationFailed("this reader is registered elsewhere", field="registration_code")
    return _reader(row)


async def list_readers(*, restaurant_id: UUID, location_id: UUID | None) -> list[s.Reader]:
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT * FROM terminal_readers WHERE restaurant_id = $1"
            " AND ($2::uuid IS NULL OR location_id = $2) ORDER BY label, id",
            restaurant_id,
            location_id,
        )
    return [_reader(row) for row in rows]


def _reader(row: asyncpg.Record) -> s.Reader:
    return s.Reader(
        id=row["id"],
        location_id=row["location_id"],
        label=row["label"],
        device_type=row["device_type"],
        created_at=row["created_at"],
    )
