"""What every back-office page does alike: render a template with the session's caller, its
CSRF token and what the caller may do, and read a form's field."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.response import Template

from server.auth.permissions import DEVICE, Permission, decide
from server.auth.tokens import Caller
from server.office import session

Req = Request[Any, Any, Any]


def render(request: Req, name: str, caller: Caller | None, **context: Any) -> Template:
    return Template(
        template_name=name,
        context={
            "csrf": request.cookies.get(session.CSRF_COOKIE, ""),
            "caller": caller,
            "may": (lambda p: caller is not None and decide(p, caller.role or DEVICE) == "allow"),
            "Permission": Permission,
            **context,
        },
    )


async def form_field(request: Req, name: str) -> str:
    """A form field, trimmed; empty when missing or a file."""
    value = (await request.form()).get(name, "")
    return value.strip() if isinstance(value, str) else ""
