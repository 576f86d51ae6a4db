"""``fynlo``: one subcommand per noun (dev, serve, db, demo, keys, sync, reconcile, payments).

Built on click: each module adds its commands to the ``fynlo`` group. ``main`` returns the
exit code instead of exiting, so tests (and ``python -m server.cli.main``) can call it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from server.cli import db, demo, dev, keys, payments, reconcile, sync


@click.group(
    name="fynlo",
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
def cli() -> None:
    """Fynlo POS operations: the dev server, the database, the demo, signing keys, sync
    maintenance and the payments ledger.

    Every command finds the database the same way: FYNLO_DATABASE_URL, else the private
    PostgreSQL a running `make run` serves from FYNLO_DATA_DIR (.fynlo/ in the checkout).
    Support staff: see docs/operations.md.
    """


for module in (dev, db, demo, keys, sync, reconcile, payments):
    for command in module.COMMANDS:
        cli.add_command(command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``fynlo`` with ``argv`` (the process's arguments if None); the exit code."""
    try:
        result = cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="fynlo",
            standalone_mode=False,
        )
    except click.ClickException as exc:  # bad arguments (2), or a command that could not run
        exc.show()
        return exc.exit_code
    except click.Abort:
        click.echo("Aborted.", err=True)
        return 130
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
