"""Who made each pushed change, who approved it, and whether they may: the permission table
REST enforces (``server.auth.permissions``), checked change by change on the sync path.

A change names its maker and approver with proofs only their PINs could have produced on
this iPad (``server.auth.offline``), so an iPad with nobody signed in, or a forged name,
gets the rights of the bare iPad and nothing more. What a change needs is the domain's
answer (``registry.Admission``); a change that lacks it is quarantined with the reason,
for a manager to see, and the device's queue moves on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from uuid import UUID

import asyncpg

from server.auth import offline
from server.auth.permissions import APPROVERS, DEVICE, Actor, Permission, decide
from server.auth.tables import Role
from server.sync.protocol import ChangeIn
from server.sync.registry import DeviceContext
from server.sync.rules import Rejected


@dataclass(frozen=True)
class Staff:
    role: Role
    seed: bytes | None


@dataclass(frozen=True)
class Authority:
    """The rights a change was made with: its maker's role (or the bare iPad's) and the
    permissions a manager approved for it."""

    actor: Actor
    employee_id: UUID | None = None
    approved: Mapping[Permission, UUID] = field(default_factory=dict)

    def holds(self, permission: Permission) -> bool:
        verdict = decide(permission, self.actor)
        return verdict == "allow" or (verdict == "approval" and permission in self.approved)

    def approver(self, permission: Permission) -> UUID | None:
        return self.approved.get(permission) if decide(permission, self.actor) != "allow" else None


BARE_IPAD = Authority(actor=DEVICE)


async def load_staff(
    conn: asyncpg.Connection, restaurant_id: UUID, changes: Sequence[ChangeIn]
) -> dict[UUID, Staff]:
    """The active employees a batch names as makers or approvers, in one query."""
    ids = {c.actor.employee_id for c in changes if c.actor} | {
        c.approval.approver_id for c in changes if c.approval
    }
    if not ids:
        return {}
    rows = await conn.fetch(
        "SELECT id, role, offline_seed FROM employees"
        " WHERE restaurant_id = $1 AND id = ANY($2::uuid[]) AND active",
        restaurant_id,
        list(ids),
    )
    return {
        row["id"]: Staff(
            Role(row["role"]), None if row["offline_seed"] is None else bytes(row["offline_seed"])
        )
        for row in rows
    }


def of(device: DeviceContext, change: ChangeIn, staff: Mapping[UUID, Staff]) -> Authority:
    """The authority ``change`` proves, or ``Rejected`` if a proof it carries does not hold.

    An unknown, deactivated or other restaurant's employee and a wrong proof are refused
    alike, so the answer tells nothing about who exists.
    """
    if change.actor is None and change.approval is None:
        return BARE_IPAD
    signed = offline.statement(
        device_id=device.device_id,
        seq=change.seq,
        entity_type=change.entity_type,
        entity_id=change.entity_id,
        op=change.op,
        hlc=change.hlc,
        fields=change.fields,
    )
    actor: Actor = DEVICE
    employee_id = None
    if change.actor is not None:
        maker = staff.get(change.actor.employee_id)
        if maker is None or not _proven(
            maker, device, offline.ACTOR_PURPOSE, signed, change.actor.proof
        ):
            raise Rejected(
                "actor_unproven",
                "the change's maker is not an active employee whose PIN signed it on this iPad",
            )
        actor, employee_id = maker.role, change.actor.employee_id
    approved: dict[Permission, UUID] = {}
    if change.approval is not None:
        approval = change.approval
        approver = staff.get(approval.approver_id)
        permission = _permission(approval.permission)
        if (
            approver is None
            or permission is None
            or approver.role not in APPROVERS
            or approval.approver_id == employee_id
            or not _proven(
                approver,
                device,
                offline.approval_purpose(permission.value),
                signed,
                approval.proof,
            )
        ):
            raise Rejected(
                "approval_unproven",
                "the approval is not a manager's, other than the maker, signed by their PIN "
                "on this iPad for this change",
            )
        approved[permission] = approval.approver_id
    return Authority(actor=actor, employee_id=employee_id, approved=approved)


def require(authority: Authority, permissions: Iterable[Permission]) -> None:
    """Refuse unless ``authority`` holds every permission, alone or with its approval."""
    for permission in sorted(permissions):
        verdict = decide(permission, authority.actor)
        if verdict == "allow" or (verdict == "approval" and permission in authority.approved):
            continue
        if verdict == "approval":
            raise Rejected("needs_approval", f"{permission} needs a manager's approval")
        who = "an iPad with nobody signed in" if authority.actor == DEVICE else authority.actor
        raise Rejected("not_permitted", f"{permission} is not allowed to {who}")


def _proven(staff: Staff, device: DeviceContext, purpose: str, signed: str, claimed: str) -> bool:
    if staff.seed is None:
        return False
    key = offline.device_key(staff.seed, device.device_id)
    return offline.proves(key, purpose, signed, claimed)


def _permission(value: str) -> Permission | None:
    try:
        return Permission(value)
    except ValueError:
        return None
