import os

from piccolo.conf.apps import AppConfig

# Like sync, payments are written with plain SQL: the money rules (refunds never above what
# was captured, one row per provider reference) live in constraints Piccolo cannot declare.
APP_CONFIG = AppConfig(
    app_name="payments",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[],
    migration_dependencies=["server.orders.piccolo_app", "server.employees.piccolo_app"],
    commands=[],
)
