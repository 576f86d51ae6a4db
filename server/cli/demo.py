"""``fynlo demo``: the demo logins, and loading the demo restaurant."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import msgspec

from server.cli.db import connected
from server.demo import CREDENTIALS, load_demo


def register(commands: Any) -> None:
    parser = commands.add_parser("demo", help="demo credentials and data")
    parser.add_argument("--json", action="store_true", help="print the demo credentials as JSON")
    parser.add_argument("--load", action="store_true", help="load the demo restaurant if missing")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.load:
        loaded = asyncio.run(connected(load_demo))
        print("demo data loaded" if loaded else "demo data already present")
    if args.json:
        print(msgspec.json.encode(CREDENTIALS).decode())
    elif not args.load:
        print(describe_credentials())
    return 0


def describe_credentials() -> str:
    lines = [
        f"  {login.role.value:<8} {login.email}  /  {login.password}"
        for login in CREDENTIALS.logins
    ]
    return "Demo back-office logins:\n" + "\n".join(lines)
