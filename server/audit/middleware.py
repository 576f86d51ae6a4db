"""Record every successful change in the audit log, whatever route made it.

Reads and failures are not recorded. A change is recorded before its response is sent (the
response is held until then, and a created row's id is read from it), so a client never
sees success for something the log does not hold.
"""

from __future__ import annotations

import json
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from server.audit.services import record
from server.auth.tokens import Caller
from server.errors import send_problem

_CHANGES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class AuditMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in _CHANGES:  # type: ignore[comparison-overlap]
            await self.app(scope, receive, send)
            return

        held: list[Message] = []

        async def send_after_recording(message: Message) -> None:
            if message["type"] == "http.response.start":
                if message["status"] >= 400:
                    await send(message)
                    return
                held.append(message)  # wait for the body: a created row's id is in it
                return
            if held:
                held.append(message)
                if message["type"] == "http.response.body" and message.get("more_body"):
                    return
                try:
                    await _record(scope, _created_id(held))
                except Exception as exc:
                    # The change is committed but not in the log, so it is not answered as a
                    # success: the error goes out instead (503 when the database is down),
                    # and the client retries as after any lost answer.
                    held.clear()
                    await send_problem(scope, receive, send, exc)
                    return
                for kept in held:
                    await send(kept)
                held.clear()
                return
            await send(message)

        await self.app(scope, receive, send_after_recording)


def _created_id(messages: list[Message]) -> str | None:
    """The ``id`` of a row a POST created, read from its small JSON response."""
    if messages[0].get("status") != 201:
        return None
    chunks: list[bytes] = [m["body"] for m in messages[1:] if m["type"] == "http.response.body"]
    body = b"".join(chunks)
    try:
        decoded = json.loads(body)
    except ValueError:
        return None
    created = decoded.get("id") if isinstance(decoded, dict) else None
    return str(created) if created is not None else None


async def _record(scope: Scope, created_id: str | None) -> None:
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
    if created_id is not None:
        target_type, target_id = scope["path"].rstrip("/").rsplit("/", 1)[-1], created_id
    await record(
        caller=caller,
        action=handler.handler_name if handler is not None else scope["path"],
        approved_by=state.get("approved_by"),
        target_type=target_type,
        target_id=target_id,
        details={"permission": str(permission), "path": scope["path"]},
    )
