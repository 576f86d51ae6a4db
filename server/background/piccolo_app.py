import os

from piccolo.conf.apps import AppConfig

# One table, written with plain SQL by ``leases.py`` (an upsert with a condition Piccolo's
# query API cannot express in one statement).
APP_CONFIG = AppConfig(
    app_name="background",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[],
    migration_dependencies=[],
    commands=[],
)
