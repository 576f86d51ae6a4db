"""How a ``fynlo`` command says it could not run: one line on stderr, exit 2, no traceback."""

from __future__ import annotations

from typing import IO, Any

import click

COULD_NOT_RUN = 2


class CouldNotRun(click.ClickException):
    """The database or a provider is unreachable, or the arguments cannot be used."""

    exit_code = COULD_NOT_RUN

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)
