"""``fynlo demo``: the demo logins, PINs and a fresh enrolment code; loading the demo data."""

from __future__ import annotations

import argparse
import asyncio
import os
from typing import Any

import msgspec

from server.cli.db import connected
from server.db.cluster import running_dsn
from server.demo import CREDENTIALS, DemoCredentials, fresh_credentials, load_demo
from server.settings import get_settings


def register(commands: Any) -> None:
    parser = commands.add_parser("demo", help="demo credentials and data")
    parser.add_argument("--json", action="store_true", help="print the demo credentials as JSON")
    parser.add_argument("--load", action="store_true", help="load the demo restaurant if missing")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.load:
        loaded = asyncio.run(connected(load_demo))
        print("demo data loaded" if loaded else "demo data already present")
    credentials = _with_enrolment_code()
    if args.json:
        print(msgspec.json.encode(credentials).decode())
    elif not args.load:
        print(describe(credentials))
    return 0


def _with_enrolment_code() -> DemoCredentials:
    """A fresh code needs the database: FYNLO_DATABASE_URL, or a running `make run` cluster."""
    settings = get_settings()
    url = settings.database_url or running_dsn(settings.data_dir / "postgres")
    if url is None:
        return CREDENTIALS
    os.environ["FYNLO_DATABASE_URL"] = url
    get_settings.cache_clear()
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
