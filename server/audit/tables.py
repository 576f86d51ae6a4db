"""Audit entries. A database trigger refuses UPDATE and DELETE on this table."""

from __future__ import annotations

from piccolo.columns import JSONB, UUID, BigSerial, ForeignKey, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from server.restaurants.tables import Restaurant


class AuditEntry(Table, tablename="audit_log"):
    """One thing someone did. Ordered by ``id``, which only grows."""

    id = BigSerial(primary_key=True)
    restaurant_id = ForeignKey(references=Restaurant, on_delete=OnDelete.restrict, null=False)
    at = Timestamptz()
    action = Varchar(length=80, help_text="e.g. orders.void, devices.revoke, auth.pin_locked.")
    actor_kind = Varchar(length=16, help_text="user, employee, device or system.")
    actor_id = UUID(null=True, default=None)
    role = Varchar(length=16, null=True, default=None)
    device_id = UUID(null=True, default=None)
    approved_by = UUID(null=True, default=None, help_text="The manager employee who approved.")
    target_type = Varchar(length=40, null=True, default=None)
    target_id = Varchar(length=64, null=True, default=None)
    details = JSONB(default={})
