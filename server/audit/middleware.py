"""Record every successful change in the audit log, whatever route made it.

Reads and failures are not recorded; a change is recorded before its response starts, so a
client never sees success for something the log does not hold.
"""

from __future__ import annotations

from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from server.audit.services import record
from server.auth.tokens import Caller

_CHANGES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class AuditMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in _CHANGES:  # type: ignore[comparison-overlap]
            await self.app(scope, receive, send)
            return

        async def send_after_recording(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                await _record(scope)
            await send(message)

        await self.app(scope, receive, send_after_recording)


async def _record(scope: Scope) -> None:
    state: dict[str, Any] = scope.get("state", {})
    caller = state.get("caller")
    if not isinstance(caller, Caller):
        return  # public routes (sign-in, enrolment) record their own events
    handler = scope.get("route_handler")
    permission = handler.opt.get("permission") if handler is not None else None
    params: dict[str, Any] = scope.get("path_params", {})
    target_type, target_id = next(
        ((name.removesuffix("_id"), str(value)) for name, value in params.items()), (None, None)
    )
    await record(
        caller=caller,
        action=handler.handler_name if handler is not None else scope["path"],
        approved_by=state.get("approved_by"),
        target_type=target_type,
        target_id=target_id,
        details={"permission": str(permission), "path": scope["path"]},
    )
