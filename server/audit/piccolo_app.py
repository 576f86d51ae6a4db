import os

from piccolo.conf.apps import AppConfig, table_finder

APP_CONFIG = AppConfig(
    app_name="audit",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=table_finder(modules=["server.audit.tables"], exclude_imported=True),
    migration_dependencies=["server.restaurants.piccolo_app"],
    commands=[],
)
