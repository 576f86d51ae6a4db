"""Apply committed migrations and tell whether any are pending."""

from __future__ import annotations

import contextlib
import io

from piccolo.apps.migrations.commands.check import CheckMigrationManager
from piccolo.apps.migrations.commands.forwards import run_forwards


class MigrationFailed(RuntimeError):
    """A migration did not apply; the database is left at the last good one."""


async def migrate() -> None:
    """Run every pending migration of every app, in dependency order."""
    chatter = io.StringIO()
    # Piccolo prints progress to stdout; keep it out of the JSON logs unless something fails.
    with contextlib.redirect_stdout(chatter):
        result = await run_forwards(app_name="all")
    if not result.success:
        raise MigrationFailed(f"{result.message}\n{chatter.getvalue()}")


async def pending_migrations() -> list[str]:
    """Ids of migrations that exist in the code but have not run on this database."""
    with contextlib.redirect_stdout(io.StringIO()):
        statuses = await CheckMigrationManager(app_name="all").get_migration_statuses()
    return [f"{s.app_name}:{s.migration_id}" for s in statuses if not s.has_ran]
