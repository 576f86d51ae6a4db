"""Channel names: which sockets hear which events.

Every name starts with the restaurant, so a socket can only ever be subscribed within its
own restaurant (``for_caller`` builds them from the verified token, never from the client).

- ``location``: pokes, order and payment status for one site's iPads;
- ``everyone``: restaurant-wide pokes (the menu changed) for every socket of the restaurant;
- ``managers``: everything at every location, plus device presence and the conflict log;
- ``device``: one iPad's own channel, used to close its sockets when it is revoked.
"""

from __future__ import annotations

from uuid import UUID

from server import events
from server.auth.permissions import Permission, decide
from server.auth.tokens import Caller


def location(restaurant_id: str | UUID, location_id: str | UUID) -> str:
    return f"fynlo.{restaurant_id}.location.{location_id}"


def everyone(restaurant_id: str | UUID) -> str:
    return f"fynlo.{restaurant_id}.everyone"


def managers(restaurant_id: str | UUID) -> str:
    return f"fynlo.{restaurant_id}.managers"


def device(restaurant_id: str | UUID, device_id: str | UUID) -> str:
    return f"fynlo.{restaurant_id}.device.{device_id}"


def for_event(event: events.Event) -> list[str]:
    """The channels an event is published to."""
    rid = event.restaurant_id
    match event:
        case events.SyncPoke(location_id=None):
            return [everyone(rid)]
        case events.SyncPoke(location_id=str(lid)):
            return [location(rid, lid), managers(rid)]
        case (
            events.OrderStatusChanged()
            | events.PaymentStatusChanged()
            | events.PaymentNeedsAttention()
        ):
            return [location(rid, event.location_id), managers(rid)]
        case events.DevicePresence() | events.ConflictLogged():
            return [managers(rid)]
        case events.DeviceRevoked():
            return [device(rid, event.device_id)]
    raise AssertionError(f"no channels for {type(event).__name__}")


def for_caller(caller: Caller) -> list[str]:
    """What a socket hears by default: an iPad its location; a manager the whole restaurant."""
    rid = caller.restaurant_id
    if caller.device_id is not None:
        assert caller.location_id is not None  # an iPad's token always names its location
        return [location(rid, caller.location_id), everyone(rid), device(rid, caller.device_id)]
    channels = [everyone(rid)]
    if caller.role is not None and decide(Permission.sync_view, caller.role) == "allow":
        channels.append(managers(rid))
    return channels
