"""Assemble the application: plugins, routers, error handling. Assembly only, no logic."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, Response, Router, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.enums import ScopeType
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin, YamlRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from litestar.static_files import create_static_files_router
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from swagger_ui_bundle import swagger_ui_path

from server import domain_metrics
from server.audit.controllers import list_audit
from server.audit.middleware import AuditMiddleware
from server.auth.controllers import AuthController, jwks
from server.auth.dependencies import PUBLIC, guard, provide_caller
from server.auth.keys import SigningKeys
from server.auth.ratelimit import limiter_from_settings
from server.cashup.drawer_routes import drawer_routes
from server.catalog.controllers import (
    AvailabilityController,
    CategoryController,
    ModifierController,
    ModifierGroupController,
    ProductController,
)
from server.db import engine
from server.deadline import DeadlineMiddleware
from server.devices.controllers import DeviceController
from server.employees.controllers import EmployeeController
from server.errors import DATABASE_UNAVAILABLE, problem_response
from server.floor.controllers import FloorTableController
from server.health.controllers import health, ready
from server.logs import RequestContextMiddleware, configure_logging
from server.office import OfficePlugin
from server.openapi import ClosedStructSchemas, finish_openapi
from server.orders.controllers import OrderController
from server.payments import gateway
from server.payments.controllers import (
    OrderPaymentsController,
    PaymentController,
    TerminalController,
    WebhookController,
)
from server.payments.payer_page import PayerPages
from server.payments.providers.base import ProviderUnavailable
from server.payments.setup import payments_running
from server.realtime.hub import Hub
from server.realtime.setup import channels_plugin, realtime_running
from server.realtime.socket import realtime_socket
from server.reports.routes import ReportsController
from server.restaurants.controllers import LocationController
from server.settings import Settings, get_settings
from server.strict_bodies import check_body_strictly
from server.sync import entities as _sync_entities  # noqa: F401 - registers syncable types
from server.sync import gc as tombstone_gc
from server.sync import lag
from server.sync.controllers import SyncController
from server.sync.device_status_controller import DeviceStatusController
from server.timeclock.management import management as time_clock_management
from server.timeclock.report_routes import ReportController
from server.timeclock.shift_routes import ShiftController

VERSION = "0.1.0"

log = logging.getLogger("fynlo.app")


SCHEMA_PATH = "/schema"
DOCS_ASSETS = f"{SCHEMA_PATH}/assets"


def api_docs() -> SwaggerRenderPlugin:
    """Swagger UI at /schema, its scripts and styles served by us: no CDN, so a LAN will do."""
    return SwaggerRenderPlugin(
        path=["/", "/swagger"],  # /schema/swagger was Litestar's default address for it
        js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
        css_url=f"{DOCS_ASSETS}/swagger-ui.css",
        standalone_preset_js_url=f"{DOCS_ASSETS}/swagger-ui-standalone-preset.js",
        favicon=f'<link rel="icon" type="image/png" href="{DOCS_ASSETS}/favicon-32x32.png">',
    )


class FynloMetrics(PrometheusController):
    path = "/metrics"
    include_in_schema = False
    # Scraped from inside the network; the exporter shows counts, never tenant data.
    opt = PUBLIC

    @get()
    async def get(self, request: Request[Any, Any, Any]) -> Response[Any]:
        """The domain's gauges are read now (``domain_metrics.refresh``), then everything."""
        try:
            circuits = await gateway.current().circuits_open()
        except ProviderUnavailable:
            circuits = {}  # payments not configured in this process
        await domain_metrics.refresh(hub=request.app.state.realtime_hub, circuits=circuits)
        return Response(generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})


def create_app(settings: Settings | None = None) -> Litestar:
    """The ASGI app for ``settings`` (the process's settings by default)."""
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    if settings.database_url:
        engine.configure(settings.database_url, settings)
    signing_keys = SigningKeys.load_or_create(settings.key_file)
    limiter = limiter_from_settings(settings)
    channels = channels_plugin(settings)
    hub = Hub()

    @asynccontextmanager
    async def database_pool(_: Litestar) -> AsyncIterator[None]:
        try:
            await engine.open_pool(
                min_size=settings.db_pool_min,
                max_size=settings.db_pool_max,
                statement_timeout=True,
            )
        except DATABASE_UNAVAILABLE:
            # Serve anyway: /health stays up and /ready reports the database until it is back.
            log.warning("database unreachable at start-up; connecting on demand")
            await engine.open_pool(
                min_size=0, max_size=settings.db_pool_max, statement_timeout=True
            )
        try:
            yield
        finally:
            await engine.close_pool()
            await limiter.aclose()

    # HTTP only: counting every WebSocket frame would tax each socket of every fan-out.
    metrics = PrometheusConfig(
        app_name="fynlo", prefix="fynlo", group_path=True, scopes={ScopeType.HTTP}
    )
    app = Litestar(
        route_handlers=[
            health,
            ready,
            jwks,
            FynloMetrics,
            AuthController,
            LocationController,
            FloorTableController,
            CategoryController,
            ProductController,
            ModifierGroupController,
            ModifierController,
            AvailabilityController,
            OrderController,
            DeviceController,
            EmployeeController,
            time_clock_management,
            drawer_routes,
            list_audit,
            SyncController,
            DeviceStatusController,
            PaymentController,
            TerminalController,
            OrderPaymentsController,
            WebhookController,
            ShiftController,
            PayerPages,
            ReportController,
            ReportsController,
            realtime_socket,
        ],
        guards=[guard],
        dependencies={"caller": Provide(provide_caller)},
        # The deadline sits inside the access log and metrics, which count its 503s, and
        # around the audit record, which is part of the request's work.
        middleware=[
            RequestContextMiddleware,
            metrics.middleware,
            DefineMiddleware(DeadlineMiddleware, seconds=settings.request_timeout_seconds),
            AuditMiddleware,
        ],
        exception_handlers={Exception: problem_response},
        before_request=check_body_strictly,
        lifespan=[
            database_pool,
            payments_running(settings),
            realtime_running(channels, hub),
            # Background work runs in one process of the fleet, under a lease
            # (server/background/leases.py): the payment sweep (above, with its fee fetches)
            # and tombstone GC. Lag sampling runs in every process and needs none: a sample
            # is keyed by its minute, so several processes sampling write one.
            tombstone_gc.collecting(settings),
            lag.sampling,
        ],
        request_max_body_size=settings.max_body_bytes,
        plugins=[ClosedStructSchemas(), channels, OfficePlugin()],
        openapi_config=OpenAPIConfig(
            title="Fynlo POS API",
            version=VERSION,
            path=SCHEMA_PATH,
            # The document and its viewer describe the API to anyone about to sign in, so they
            # are public. No Redoc, RapiDoc or Elements: Litestar loads those from CDNs.
            openapi_router=Router(
                SCHEMA_PATH,
                route_handlers=[
                    create_static_files_router(
                        path=DOCS_ASSETS.removeprefix(SCHEMA_PATH),
                        directories=[Path(str(swagger_ui_path))],
                        name="api-docs-assets",
                    )
                ],
                opt=PUBLIC,
                include_in_schema=False,
            ),
            render_plugins=[api_docs(), JsonRenderPlugin(), YamlRenderPlugin()],
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")
                }
            ),
            security=[{"bearer": []}],
        ),
        state=State({"signing_keys": signing_keys, "limiter": limiter, "realtime_hub": hub}),
        logging_config=None,
        debug=False,
    )
    finish_openapi(app, page_size_max=settings.page_size_max)
    return app
