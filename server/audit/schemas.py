"""Audit entries on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from server.wire import Wire


class AuditEntryOut(Wire, kw_only=True):
    id: int
    at: datetime
    action: str
    actor_kind: str
    actor_id: UUID | None
    role: str | None
    device_id: UUID | None
    approved_by: UUID | None
    target_type: str | None
    target_id: str | None
    details: dict[str, Any]
