"""Mount the back office at ``/office``: its router, templates and static files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request, Response, Router
from litestar.config.app import AppConfig
from litestar.plugins import InitPluginProtocol
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from server.auth.dependencies import PUBLIC
from server.errors import ClientError, NotAuthenticated
from server.money import format_money
from server.office import session
from server.office.cashup_pages import CashupPages
from server.office.controllers import OfficeController
from server.office.views import FINDING_ACTIONS

HERE = Path(__file__).parent


def to_sign_in(request: Request[Any, Any, Any], _: NotAuthenticated) -> Response[Any]:
    """An anonymous or expired session goes to the sign-in form, its stale cookie dropped;
    a background fetch only gets 401 (the page reloads, and the page load renews it)."""
    if not session.is_navigation(request.headers.get("sec-fetch-mode")):
        return Response(b"", status_code=401)
    return Redirect(
        f"{session.PREFIX}/login", status_code=303, cookies=[session.ended_session()[0]]
    )


def refusal(request: Request[Any, Any, Any], refused: ClientError) -> Response[Any]:
    """A refusal as a page a manager can read, with the problem's status."""
    return Template(
        template_name="refused.html",
        context={"problem": refused, "caller": None, "csrf": ""},
        status_code=refused.status,
    )


def _with_filters(engine: JinjaTemplateEngine) -> None:
    """``{{ amount | money(currency) }}``: pence as a person reads them, never through a float;
    ``finding_actions``: what a manager does about each kind of reconcile finding."""
    engine.engine.filters["money"] = format_money
    engine.engine.globals["finding_actions"] = FINDING_ACTIONS


def office_router() -> Router:
    return Router(
        session.PREFIX,
        route_handlers=[
            OfficeController,
            CashupPages,
            create_static_files_router(
                path="/static",
                directories=[HERE / "static"],
                name="office-static",
                opt=PUBLIC,
                include_in_schema=False,
            ),
        ],
        middleware=[session.OfficeSession],
        exception_handlers={NotAuthenticated: to_sign_in, ClientError: refusal},
        include_in_schema=False,
    )


class OfficePlugin(InitPluginProtocol):
    """The back office's pages (``docs/back-office.md``, "The page")."""

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.route_handlers.append(office_router())
        app_config.template_config = TemplateConfig(
            directory=HERE / "templates", engine=JinjaTemplateEngine, engine_callback=_with_filters
        )
        return app_config
