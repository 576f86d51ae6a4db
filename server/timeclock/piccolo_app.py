import os

from piccolo.conf.apps import AppConfig

# Punches, corrections and wage history are append-only records with checks Piccolo's column
# API cannot declare, so the app has no Table classes and works in plain SQL.
APP_CONFIG = AppConfig(
    app_name="timeclock",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[],
    migration_dependencies=["server.employees.piccolo_app", "server.devices.piccolo_app"],
    commands=[],
)
