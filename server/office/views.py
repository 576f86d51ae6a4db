"""What the pages show beyond the API's structs: device names, a conflict field by field."""

from __future__ import annotations

from typing import Any, NamedTuple
from uuid import UUID

from server.auth.tokens import Caller
from server.devices import services as devices
from server.sync.reports import ConflictEntry

# The clock and bookkeeping fields every synced record carries: not a manager's business.
_HIDDEN = frozenset({"clock", "hlc", "device_prefix", "device_seq"})


# What each rule in the conflict log means, in a manager's words (docs/sync-protocol.md,
# "Conflict rules in the log").
RULES = {
    "lww": "the later edit kept",
    "state_rank": "the further status kept",
    "counter": "both amounts added",
    "sticky": "a void stays void",
    "delete_wins": "the deletion kept",
    "merge": "both sides agreed",
    "catalog_price": "priced from the menu",
}
# What a manager does about each kind of reconcile finding (docs/payments.md, "Reconcile",
# the same words); the finding's own detail is written for support staff.
FINDING_ACTIONS = {
    "unknown_at_fynlo": "The provider took money we have no payment for: find the order, "
    "or refund it at the provider if it was not ours.",
    "state_mismatch": "The provider took money for a payment we ended: refund it.",
    "amount_mismatch": "The amounts differ: refund the difference; never edit the payment.",
    "missing_at_provider": "The provider has no charge for this payment: check its dashboard.",
    "not_settled": "Bank money not in the account yet: wait for settlement.",
    "reversed": "Bank money went back to the payer: take it another way.",
    "fee_mismatch": "The provider's fee differs from ours: check the fee schedule.",
    "unknown_refund": "The provider shows a refund we did not make: find out who made it.",
    "refund_mismatch": "A refund's amount differs at the provider: check it there.",
    "refund_missing_at_provider": "A refund we made is not at the provider: check it there.",
    "stuck_payment": "A payment is still waiting past its time: cancel it, or take the money "
    "another way.",
    "stuck_refund": "A refund is still waiting: check it at the provider.",
    "overpaid_order": "The order took more than its total: refund the difference.",
    "underpaid_order": "The order reads paid with less than its total: find the missing "
    "payment, take the rest or record the loss.",
    "voided_order_holds_money": "A voided order still holds money: refund it.",
    "unsettled_order": "An open order is paid in full: report it to support.",
    "offline_card_owed": "A card taken offline was declined: take the money another way.",
    "offline_card_held": "A card taken offline past the limits waits: capture or cancel it.",
    "offline_card_not_forwarded": "A card taken offline is not at Stripe after a day: bring the "
    "iPad that took it online.",
    "net_mismatch": "The provider's total differs from ours: see the findings above, then "
    "report it to support.",
}
UNCHANGED = "unchanged"
"""The iPad's cell for a field its change did not carry."""


class FieldRow(NamedTuple):
    label: str
    current: str
    incoming: str
    outcome: str
    differs: bool


class ConflictView(NamedTuple):
    entry: ConflictEntry
    rows: list[FieldRow]
    rule: str
    """The rules that decided, in words; the log's codes stay on the entry."""


def label(name: str) -> str:
    """``table_id`` → ``Table``, ``unit_price`` → ``Unit price``."""
    words = name.removesuffix("_id").replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def rule_text(rule: str) -> str:
    """``lww,counter`` → ``the later edit kept, both amounts added``."""
    return ", ".join(RULES.get(code, code.replace("_", " ")) for code in rule.split(","))


def conflict_view(entry: ConflictEntry) -> ConflictView:
    """Every field either version or the merge sets, the ones the two sides disagree on
    first and marked.

    The log keeps each side as the engine saw it (``server.sync.engine``): the server's
    version and the merged one as ``{data, clock, deleted}``, the iPad's change as ``{fields,
    clock, hlc, op}`` with only the fields it changed.
    """
    current: dict[str, Any] = entry.current.get("data") or {}
    incoming: dict[str, Any] = entry.incoming.get("fields") or {}
    outcome: dict[str, Any] = entry.outcome.get("data") or {}
    names = sorted((current.keys() | incoming.keys() | outcome.keys()) - _HIDDEN)
    rows = [
        FieldRow(
            label(name),
            shown(current.get(name)),
            shown(incoming[name]) if name in incoming else UNCHANGED,
            shown(outcome.get(name)),
            name in incoming and current.get(name) != incoming[name],
        )
        for name in names
    ]
    deletes = entry.incoming.get("op") == "delete"
    was_deleted = bool(entry.current.get("deleted"))
    ends_deleted = bool(entry.outcome.get("deleted"))
    if deletes or was_deleted or ends_deleted:
        deleted = (shown(was_deleted), shown(deletes), shown(ends_deleted))
        rows.append(FieldRow("Deleted", *deleted, deletes != was_deleted))
    rows.sort(key=lambda row: not row.differs)  # stable: alphabetical within each group
    return ConflictView(entry, rows, rule_text(entry.rule))


async def device_names(caller: Caller) -> dict[UUID, str]:
    listed = await devices.list_devices(
        restaurant_id=caller.restaurant_id, location_id=caller.location_id
    )
    return {device.id: device.name for device in listed}
