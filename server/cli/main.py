"""``fynlo``: one subcommand per noun (dev, serve, db, demo, keys, sync, reconcile, payments)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from server.cli import db, demo, dev, keys, payments, sync


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fynlo", description="Fynlo POS operations.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    dev.register(commands)
    db.register(commands)
    demo.register(commands)
    keys.register(commands)
    sync.register(commands)
    payments.register(commands)
    args = parser.parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
