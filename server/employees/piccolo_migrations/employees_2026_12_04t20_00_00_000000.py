"""Offline PIN seeds (issue 13): what lets an iPad prove, after an outage, who made a change
and which manager approved it (``server/auth/offline.py``).

Existing employees get theirs at their next PIN change or online PIN sign-in, the only
moments the server sees a PIN; until then their offline changes count as the iPad's own.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from piccolo.columns.column_types import Bytea
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-04T20:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "offline PIN seeds"



async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="employees", description=DESCRIPTION)
    for name in ("offline_salt", "offline_seed"):
        manager.add_column(
            table_class_name="Employee",
            tablename="employees",
            column_name=name,
            db_column_name=name,
            column_class_name="Bytea",
            column_class=Bytea,
            params={
                "default": None,
                "null": True,
                "primary_key": False,
                "unique": False,
                "index": False,
                "index_method": IndexMethod.btree,
                "choices": None,
                "db_column_name": None,
                "secret": True,
            },
            schema=None,
        )
    return manager
