"""Reading the audit log."""

from __future__ import annotations

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromQuery

from server.audit import services
from server.audit.schemas import AuditEntryOut
from server.auth.dependencies import allow
from server.auth.permissions import Permission
from server.auth.tokens import Caller
from server.pagination import Page, decode_id_cursor, page_size


@get(
    "/api/v1/audit",
    tags=["audit"],
    summary="Audit log, newest first",
    opt=allow(Permission.audit_view),
)
async def list_audit(
    caller: NamedDependency[Caller],
    cursor: FromQuery[str | None] = None,
    limit: FromQuery[int | None] = None,
) -> Page[AuditEntryOut]:
    entries, next_cursor = await services.list_entries(
        restaurant_id=caller.restaurant_id,
        before=decode_id_cursor(cursor),
        limit=page_size(limit),
    )
    return Page(items=entries, next_cursor=next_cursor)
