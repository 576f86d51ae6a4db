import os

from piccolo.conf.apps import AppConfig

# The sync tables use PostgreSQL features Piccolo's column API cannot declare (xid8, composite
# keys), so the app has no Table classes: the engine reads and writes them with plain SQL.
APP_CONFIG = AppConfig(
    app_name="sync",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[],
    migration_dependencies=["server.devices.piccolo_app", "server.orders.piccolo_app"],
    commands=[],
)
