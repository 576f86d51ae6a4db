"""``fynlo reconcile``: our ledger against the payment providers' own books, for support.

It finds the database as every ``fynlo`` command does (``server/cli/db.py``) and the
providers as ``server/cli/providers.py`` says (real ones from settings, else the fakes a
running ``make run`` started). It never answers "balanced" for a window where nothing was
compared. Exit codes (docs/operations.md, "Reconcile"):

- 0 balanced: something was compared and nothing differs;
- 1 differences found (each printed, with what to do in docs/payments.md);
- 2 could not run: the database or a provider unreachable, a provider with payments in the
  window that is not configured, or bad arguments;
- 3 nothing to compare: no payment of ours in the window and no provider listed any.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID

import asyncpg
import click
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn

from server.cli import reconcile_output as out
from server.cli.db import NO_DATABASE, database_url, without_password
from server.cli.errors import CouldNotRun
from server.cli.providers import LABELS, SETTING, CommandProviders, command_providers
from server.db import engine
from server.payments import gateway
from server.payments.providers.base import ProviderRefused, ProviderUnavailable
from server.payments.reconcile import Report, ledger_providers, ours_in_window, reconcile
from server.settings import get_settings

BALANCED, DIFFERENCES, NOTHING_COMPARED = 0, 1, 3
EXIT_CODES = {
    "balanced": BALANCED,
    "differences": DIFFERENCES,
    "nothing_compared": NOTHING_COMPARED,
}
CONNECT_SECONDS = 10


def moment(context: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """``today``, ``yesterday``, a date (from midnight UTC) or an RFC 3339 instant with its
    zone, as an aware datetime."""
    if value is None:
        return None
    today = datetime.now(UTC).date()
    text = value.strip()
    words = {"today": today, "yesterday": today - timedelta(days=1)}
    try:
        day = words.get(text.lower()) or date.fromisoformat(text)
        return datetime.combine(day, time(), tzinfo=UTC)
    except ValueError:
        pass
    try:
        instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a date (2026-11-25) or an instant") from None
    if instant.tzinfo is None:
        raise click.BadParameter("give a time zone, e.g. 2026-11-26T00:00:00Z")
    return instant


@click.command(name="reconcile", short_help="Compare our ledger with the providers' books.")
@click.option(
    "--since",
    metavar="WHEN",
    callback=moment,
    help="Start of the window: today, yesterday, a date (2026-11-25, from midnight UTC) or an"
    " RFC 3339 instant with its zone. Default: yesterday.",
)
@click.option(
    "--until",
    metavar="WHEN",
    callback=moment,
    help="End of the window, exclusive, in the same forms. Default: one day after --since.",
)
@click.option(
    "--restaurant",
    type=click.UUID,
    help="Only this restaurant's payments (its id); default: every restaurant.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "csv"]),
    help="text (default) for a person; json (amounts in pence) or csv (amounts in pounds) for"
    " a machine. All three carry the same figures.",
)
@click.option("--json", "as_json", is_flag=True, help="The same as --format json.")
def reconcile_command(
    since: datetime | None,
    until: datetime | None,
    restaurant: UUID | None,
    output_format: str | None,
    as_json: bool,
) -> int:
    """Compare our payments and refunds with the payment providers' own books, to the penny,
    both ways, and check our own books (orders against their money, stuck payments, cards
    taken offline). Reads the database (FYNLO_DATABASE_URL, else `make run`'s) and the
    providers (FYNLO_* settings, else the fakes `make run` started).

    Exit codes: 0 balanced (something was compared, nothing differs); 1 differences found;
    2 could not run (database or provider unreachable, a provider not configured, bad
    arguments); 3 nothing to compare (no payments in the window, none at any provider).

    Run it nightly; what each finding means and what to do: docs/operations.md.
    """
    if as_json and output_format not in (None, "json"):
        raise click.UsageError("--json is --format json; give one of them")
    chosen = "json" if as_json else output_format or "text"
    start = since or datetime.combine(datetime.now(UTC).date(), time(), tzinfo=UTC) - timedelta(
        days=1
    )
    end = until or start + timedelta(days=1)
    if end <= start:
        raise click.UsageError("--until must be after --since")
    interactive = sys.stdout.isatty() and sys.stderr.isatty()
    output = asyncio.run(_run(start, end, restaurant, interactive=interactive))
    render = {"text": out.as_text, "json": out.as_json, "csv": out.as_csv}[chosen]
    click.echo(render(output), nl=chosen != "csv")
    return EXIT_CODES[output.outcome]


async def _run(
    since: datetime, until: datetime, restaurant: UUID | None, *, interactive: bool
) -> out.ReconcileOutput:
    url = await _open_database()
    try:
        providers = command_providers(get_settings())
        gateway.install(providers.gateway)
        try:
            currency = await _currency(restaurant)
            await _every_provider_configured(since, until, restaurant, providers)
            with _progress(interactive, stages=len(ledger_providers()) + 1) as step:
                report = await _reconcile(since, until, restaurant, providers, step, url)
            return out.build(
                report, currency=currency, restaurant_id=restaurant, source=providers.source
            )
        finally:
            await providers.gateway.close()
            gateway.install(None)
    finally:
        await engine.close_pool()


async def _open_database() -> str:
    """Connect, or say in one line which database could not be reached and why."""
    url = database_url()
    if not url:
        raise CouldNotRun(NO_DATABASE.format(folder=get_settings().data_dir / "postgres"))
    engine.configure(url)
    try:
        await engine.DB.start_connection_pool(min_size=1, max_size=2, timeout=CONNECT_SECONDS)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise CouldNotRun(
            f"cannot reach the database at {without_password(url)}: {_reason(exc)}"
        ) from None
    return url


async def _reconcile(
    since: datetime,
    until: datetime,
    restaurant: UUID | None,
    providers: CommandProviders,
    step: Callable[[str], None],
    url: str,
) -> Report:
    reading: list[str] = []

    def stage(name: str) -> None:
        reading.append(name)
        step(name)

    try:
        return await reconcile(since, until, restaurant_id=restaurant, step=stage)
    except (ProviderUnavailable, ProviderRefused) as exc:
        name = reading[-1] if reading else "a provider"
        where = providers.addresses.get(name, "its configured address")
        label = LABELS.get(name, name)
        raise CouldNotRun(f"cannot read {label}'s books at {where}: {_reason(exc)}") from None
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise CouldNotRun(
            f"the database at {without_password(url)} failed: {_reason(exc)}"
        ) from None


async def _currency(restaurant: UUID | None) -> str:
    """The one currency the amounts are in; restaurants in several need --restaurant."""
    async with engine.connection() as conn:
        currencies = await conn.fetchval(
            "SELECT array_agg(DISTINCT currency) FROM restaurants"
            " WHERE $1::uuid IS NULL OR id = $1",
            restaurant,
        )
    currencies = currencies or []
    if restaurant is not None and not currencies:
        raise CouldNotRun(f"no restaurant {restaurant} in this database")
    if len(currencies) > 1:
        raise CouldNotRun("restaurants here take several currencies: give --restaurant")
    return str(currencies[0]) if currencies else "GBP"


async def _every_provider_configured(
    since: datetime, until: datetime, restaurant: UUID | None, providers: CommandProviders
) -> None:
    """Payments at a provider we cannot read would go unchecked: refuse rather than say
    "balanced" about half of the money."""
    ours = await ours_in_window(since, until, restaurant)
    readable = set(ledger_providers())
    for name, count in sorted(ours.items()):
        if name != "cash" and name not in readable:
            raise CouldNotRun(
                f"{count} {LABELS.get(name, name)} payments or refunds in the window, but"
                f" {LABELS.get(name, name)} is not configured (set {SETTING.get(name, 'it')},"
                " or run this while `make run` runs)"
            )


@contextmanager
def _progress(interactive: bool, *, stages: int) -> Iterator[Callable[[str], None]]:
    """A progress bar on stderr in a terminal; nothing at all otherwise."""
    if not interactive:
        yield lambda name: None
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("Reconciling", total=stages)
        started = False

        def step(name: str) -> None:
            nonlocal started
            if started:
                progress.advance(task)
            started = True
            progress.update(
                task,
                description=f"Reading {LABELS.get(name, name)}'s books"
                if name in LABELS
                else f"Checking {name}",
            )

        yield step


def _reason(exc: BaseException) -> str:
    """The first line of what went wrong, without a traceback."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


COMMANDS = (reconcile_command,)
