"""``fynlo demo``: the demo logins, PINs and a fresh enrolment code; loading the demo data;
fresh unpaid orders to walk through a payment (``--order``)."""

from __future__ import annotations

import asyncio

import click
import msgspec

from server.cli.db import connected, database_url
from server.demo import CREDENTIALS, DemoCredentials, fresh_credentials, load_demo, new_order
from server.money import format_money


@click.command(name="demo", short_help="Demo credentials and data.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the demo credentials (or, with --order, the new order) as JSON.",
)
@click.option("--load", is_flag=True, help="Load the demo restaurant if it is missing.")
@click.option(
    "--order",
    is_flag=True,
    help="Create a fresh unpaid order at the demo location and print its id and amount.",
)
def demo_command(as_json: bool, load: bool, order: bool) -> int:
    """Demo credentials and data: the back-office logins, the employees' PINs and a fresh
    iPad enrolment code (the code needs the database)."""
    if load:
        loaded = asyncio.run(connected(load_demo))
        click.echo("demo data loaded" if loaded else "demo data already present")
    if order:
        return _new_order(as_json=as_json)
    credentials = _with_enrolment_code()
    if as_json:
        click.echo(msgspec.json.encode(credentials).decode())
    elif not load:
        click.echo(describe(credentials))
    return 0


COMMANDS = (demo_command,)


def _new_order(*, as_json: bool) -> int:
    try:
        order = asyncio.run(connected(new_order))
    except LookupError as exc:
        click.echo(f"error: {exc}", err=True)
        return 1
    if as_json:
        click.echo(msgspec.json.encode(order).decode())
    else:
        due = format_money(order.amount, order.currency)
        click.echo(f"Order {order.number} ({order.id}): {due} to pay")
    return 0


def _with_enrolment_code() -> DemoCredentials:
    """A fresh code needs the database; without one, the fixed credentials alone."""
    if database_url() is None:
        return CREDENTIALS
    return asyncio.run(connected(fresh_credentials))


def describe(credentials: DemoCredentials) -> str:
    """The demo credentials as `make run` prints them."""
    lines = ["Demo back-office logins:"]
    lines += [f"  {x.role.value:<8} {x.email}  /  {x.password}" for x in credentials.logins]
    lines.append("Demo employees (PIN sign-in on an enrolled iPad):")
    lines += [
        f"  {x.role.value:<8} {x.name:<6} PIN {x.pin}  id {x.id}" for x in credentials.employees
    ]
    if credentials.enrolment_code is not None:
        expires = f"{credentials.enrolment_code_expires_at:%Y-%m-%d %H:%M} UTC"
        lines.append(f"Enrolment code for an iPad: {credentials.enrolment_code} (until {expires})")
    return "\n".join(lines)
