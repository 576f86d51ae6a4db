"""Who may do what: one table, enforced by the ``authorize`` guard on every route.

Each route declares the permission it needs in ``opt={"permission": ...}`` (or is public);
a route that declares neither is refused, so a new route is closed until someone decides.
Some actions are allowed to lower roles only with a manager's approval (a manager's PIN
entered on the same iPad), which is recorded in the audit log.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal, NamedTuple

from server.auth.tables import Role

DEVICE: Literal["device"] = "device"
"""An enrolled iPad with nobody signed in on it."""

Actor = Role | Literal["device"]


class Permission(StrEnum):
    catalog_view = "catalog.view"
    catalog_edit = "catalog.edit"
    availability_set = "catalog.availability"
    locations_view = "locations.view"
    locations_manage = "locations.manage"
    floor_view = "floor.view"
    floor_manage = "floor.manage"
    orders_view = "orders.view"
    orders_take = "orders.take"
    orders_void = "orders.void"
    orders_discount_over_threshold = "orders.discount_over_threshold"
    orders_price_override = "orders.price_override"
    payments_take = "payments.take"
    payments_view = "payments.view"
    payments_manage = "payments.manage"
    payments_refund = "payments.refund"
    payments_terminal = "payments.terminal"
    devices_enrol = "devices.enrol"
    devices_manage = "devices.manage"
    employees_view = "employees.view"
    employees_manage = "employees.manage"
    pin_policy_manage = "employees.pin_policy"
    reports_view = "reports.view"
    audit_view = "audit.view"
    sync_device = "sync.device"
    sync_view = "sync.view"
    sync_manage = "sync.manage"
    pin_sign_in = "auth.pin"
    timeclock_punch = "timeclock.punch"
    timeclock_punch_others = "timeclock.punch_others"
    timeclock_view = "timeclock.view"
    timeclock_correct = "timeclock.correct"
    timeclock_manage = "timeclock.manage"
    wages_view = "wages.view"
    wages_manage = "wages.manage"
    drawer_use = "drawer.use"
    drawer_cash_movement = "drawer.cash_movement"
    drawer_manage = "drawer.manage"
    reports_close_day = "reports.close_day"
    approve = "auth.approve"


class Rule(NamedTuple):
    allowed: frozenset[Actor]
    with_approval: frozenset[Actor] = frozenset()


_MANAGERS: frozenset[Actor] = frozenset({Role.owner, Role.manager})
_STAFF: frozenset[Actor] = frozenset(Role)
_FRONT_OF_HOUSE: frozenset[Actor] = frozenset({Role.cashier, Role.server})
_ON_IPADS: frozenset[Actor] = _STAFF | {DEVICE}

POLICY: dict[Permission, Rule] = {
    Permission.catalog_view: Rule(_ON_IPADS),
    Permission.catalog_edit: Rule(_MANAGERS),
    # Anyone on shift can 86 a dish the kitchen has run out of.
    Permission.availability_set: Rule(_STAFF),
    Permission.locations_view: Rule(_ON_IPADS),
    Permission.locations_manage: Rule(frozenset({Role.owner})),
    Permission.floor_view: Rule(_ON_IPADS),
    Permission.floor_manage: Rule(_MANAGERS),
    Permission.orders_view: Rule(_STAFF),
    # Taking an order and seating a table need no sign-in: a restaurant may run an iPad
    # without PINs, and nothing taken this way moves money or bypasses a price.
    Permission.orders_take: Rule(_ON_IPADS),
    Permission.orders_void: Rule(_MANAGERS, with_approval=_FRONT_OF_HOUSE),
    Permission.orders_discount_over_threshold: Rule(_MANAGERS, with_approval=_FRONT_OF_HOUSE),
    # A line at another price than the catalog's (a comp, an open-price dish).
    Permission.orders_price_override: Rule(_MANAGERS, with_approval=_FRONT_OF_HOUSE),
    # Taking payment needs someone signed in at the till, never a bare iPad.
    Permission.payments_take: Rule(_MANAGERS | _FRONT_OF_HOUSE),
    Permission.payments_view: Rule(_MANAGERS | _FRONT_OF_HOUSE),
    Permission.payments_manage: Rule(_MANAGERS),
    Permission.payments_refund: Rule(_MANAGERS, with_approval=frozenset({Role.cashier})),
    # The iPad's card reader SDK connects before anyone signs in (and must, to work offline
    # later); connecting takes no money: every payment still needs payments.take.
    Permission.payments_terminal: Rule(_ON_IPADS),
    Permission.devices_enrol: Rule(_MANAGERS),
    Permission.devices_manage: Rule(_MANAGERS),
    Permission.employees_view: Rule(_MANAGERS),
    # Within employees.manage nobody grants or manages a role above their own (``outranks``).
    Permission.employees_manage: Rule(_MANAGERS),
    # Allowing four-digit PINs weakens every PIN of the restaurant: the owner's decision.
    Permission.pin_policy_manage: Rule(frozenset({Role.owner})),
    Permission.reports_view: Rule(_MANAGERS),
    Permission.audit_view: Rule(_MANAGERS),
    # Push and pull are the iPad's own; whoever is signed in on it does not matter.
    Permission.sync_device: Rule(_ON_IPADS),
    Permission.sync_view: Rule(_MANAGERS),
    # Dismiss or retry a quarantined change, acknowledge a conflict (audited).
    Permission.sync_manage: Rule(_MANAGERS),
    # Signing in with a PIN and asking a manager's approval happen on an enrolled iPad.
    Permission.pin_sign_in: Rule(frozenset({DEVICE}) | _STAFF),
    Permission.approve: Rule(_STAFF),
    # Everyone clocks themself in and out on any iPad; clocking a colleague needs a manager.
    Permission.timeclock_punch: Rule(_STAFF),
    Permission.timeclock_punch_others: Rule(_MANAGERS, with_approval=_STAFF - _MANAGERS),
    Permission.timeclock_view: Rule(_MANAGERS),
    # A correction changes someone's pay: managers only, each with a reason, audited.
    Permission.timeclock_correct: Rule(_MANAGERS),
    Permission.timeclock_manage: Rule(_MANAGERS),
    Permission.wages_view: Rule(_MANAGERS),
    # What people are paid is the owner's decision.
    Permission.wages_manage: Rule(frozenset({Role.owner})),
    # Whoever takes cash opens, counts and closes a drawer (blind: the expected figure is the
    # manager's); money in or out of the drawer for anything but a sale needs a manager.
    Permission.drawer_use: Rule(_MANAGERS | _FRONT_OF_HOUSE),
    Permission.drawer_cash_movement: Rule(_MANAGERS, with_approval=_FRONT_OF_HOUSE),
    Permission.drawer_manage: Rule(_MANAGERS),
    # A Z-report closes the business day for good: managers only.
    Permission.reports_close_day: Rule(_MANAGERS),
}

# Only these roles sign in to the back office (with a password); staff use a PIN on an iPad.
BACK_OFFICE_ROLES: frozenset[Role] = frozenset({Role.owner, Role.manager})

# Approvals may only come from these roles.
APPROVERS: frozenset[Role] = frozenset({Role.owner, Role.manager})

# Who is above whom when roles are granted: staff roles are peers of each other.
RANK: dict[Role, int] = {
    Role.owner: 3,
    Role.manager: 2,
    Role.cashier: 1,
    Role.server: 1,
    Role.kitchen: 1,
}


def outranks(role: Role, own: Role) -> bool:
    """Whether ``role`` is above ``own``: someone with ``own`` may not grant or manage it."""
    return RANK[role] > RANK[own]


def decide(permission: Permission, actor: Actor) -> Literal["allow", "approval", "deny"]:
    """Whether ``actor`` may act alone, only with a manager's approval, or not at all."""
    rule = POLICY[permission]
    if actor in rule.allowed:
        return "allow"
    return "approval" if actor in rule.with_approval else "deny"
