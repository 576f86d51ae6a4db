import os

from piccolo.conf.apps import AppConfig

# Drawer sessions, their movements and Z-reports are append-only or closed-once records with
# checks Piccolo's column API cannot declare, so the app has no Table classes and works in SQL.
APP_CONFIG = AppConfig(
    app_name="cashup",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[],
    migration_dependencies=[
        "server.payments.piccolo_app",
        "server.timeclock.piccolo_app",
    ],
    commands=[],
)
