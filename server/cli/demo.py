"""``fynlo demo``: the demo logins, PINs and a fresh enrolment code; loading the demo data;
fresh unpaid orders to walk through a payment (``--order``)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import msgspec

from server.cli.db import connected, database_url
from server.demo import CREDENTIALS, DemoCredentials, fresh_credentials, load_demo, new_order
from server.money import format_money


def register(commands: Any) -> None:
    parser = commands.add_parser("demo", help="demo credentials and data")
    parser.add_argument("--json", action="store_true", help="print the demo credentials as JSON")
    parser.add_argument("--load", action="store_true", help="load the demo restaurant if missing")
    parser.add_argument(
        "--order",
        action="store_true",
        help="create a fresh unpaid order at the demo location and print its id and amount",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.load:
        loaded = asyncio.run(connected(load_demo))
        print("demo data loaded" if loaded else "demo data already present")
    if args.order:
        return _new_order(as_json=args.json)
    credentials = _with_enrolment_code()
    if args.json:
        print(msgspec.json.encode(credentials).decode())
    elif not args.load:
        print(describe(credentials))
    return 0


def _new_order(*, as_json: bool) -> int:
    try:
        order = asyncio.run(connected(new_order))
    except LookupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if as_json:
        print(msgspec.json.encode(order).decode())
    else:
        due = format_money(order.amount, order.currency)
        print(f"Order {order.number} ({order.id}): {due} to pay")
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
