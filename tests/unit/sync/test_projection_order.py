"""Projections run in one order whatever imported the domains first.

``fynlo serve`` imports the demo (and so the sync entities) before the app, the tests import
the app first: the two once registered payments on either side of orders, and a line added
after its bill was paid in the same batch was refused in the tests and priced into the paid
bill in production.
"""

from __future__ import annotations

import json
import subprocess
import sys

PRINT_ORDER = (
    "import json; from server.sync import registry;"
    " print(json.dumps(registry.entity_types_in_order()))"
)


def order_after_importing(module: str) -> list[str]:
    printed = subprocess.run(
        [sys.executable, "-c", f"import {module}; {PRINT_ORDER}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    names: list[str] = json.loads(printed)
    return names


def test_payments_project_after_the_orders_they_settle_whoever_imports_first() -> None:
    for module in ("server.app", "server.cli.main", "server.sync.entities"):
        order = order_after_importing(module)
        assert order.index("order") < order.index("order_line") < order.index("cash_payment")
        assert order.index("order_line") < order.index("offline_card_payment"), module
