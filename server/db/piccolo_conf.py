"""Piccolo project configuration: the engine and the apps whose tables and migrations it owns."""

from __future__ import annotations

from piccolo.conf.apps import AppRegistry

from server.db.engine import DB
from server.settings import get_settings

if get_settings().database_url:
    DB.config = {"dsn": get_settings().database_url}

# Order matters only for readability; migrations declare their own dependencies.
APP_REGISTRY = AppRegistry(
    apps=[
        "server.restaurants.piccolo_app",
        "server.auth.piccolo_app",
        "server.catalog.piccolo_app",
        "server.floor.piccolo_app",
        "server.orders.piccolo_app",
        "server.employees.piccolo_app",
        "server.devices.piccolo_app",
        "server.audit.piccolo_app",
        "server.sync.piccolo_app",
        "server.payments.piccolo_app",
        "server.timeclock.piccolo_app",
        "server.cashup.piccolo_app",
        "server.background.piccolo_app",
    ]
)

__all__ = ("APP_REGISTRY", "DB")
