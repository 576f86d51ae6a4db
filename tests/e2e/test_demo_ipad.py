"""An iPad enrolled on `make run` bootstraps the whole demo: menu, floor plan, orders and the
cash drawer.

The demo is loaded through the back office's services and the sync store (issue 12), so
what a manager sees is what the iPad pulls; nothing the loader writes bypasses the feed.
"""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.processes import free_port, fynlo_env, start, stop, wait_for
from tests.e2e.test_dev_server import data_dir, demo_credentials  # noqa: F401  (a fixture)

PAGES = 50


def pull_everything(http: httpx.Client, token: str) -> list[dict[str, Any]]:
    states: dict[tuple[str, str], dict[str, Any]] = {}
    params: dict[str, Any] = {"schema_version": 1, "app_version": "1.0.0"}
    for _ in range(PAGES):
        page = http.get(
            "/api/v1/sync/pull", params=params, headers={"Authorization": f"Bearer {token}"}
        )
        assert page.status_code == 200, page.text
        body = page.json()
        for state in body["changes"]:
            states[(state["entity_type"], state["entity_id"])] = state
        params["cursor"] = body["cursor"]
        if not body["has_more"]:
            return [state for state in states.values() if not state["deleted"]]
    raise AssertionError(f"the pull did not finish in {PAGES} pages")


def test_an_ipad_enrolled_on_make_run_pulls_the_menu_floor_and_orders(data_dir: Path) -> None:  # noqa: F811
    port = free_port()
    env = fynlo_env(FYNLO_DATA_DIR=str(data_dir), FYNLO_PORT=str(port))
    server = start("dev", env=env)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            wait_for(f"http://127.0.0.1:{port}/ready", server)
            code = demo_credentials(env)["enrolment_code"]
            enrolled = http.post("/api/v1/devices/enroll", json={"code": code, "name": "Till"})
            assert enrolled.status_code == 201, enrolled.text
            states = pull_everything(http, enrolled.json()["access_token"])
    finally:
        code, output = stop(server, signal.SIGTERM)
    assert code == 0, output
    kinds = Counter(state["entity_type"] for state in states)
    assert kinds["floor_table"] == 10 and kinds["category"] == 4, kinds
    assert kinds["product"] >= 12 and kinds["modifier_group"] == 2 and kinds["modifier"] == 6
    orders = {s["data"]["number"]: s["data"] for s in states if s["entity_type"] == "order"}
    assert {number: order["status"] for number, order in orders.items()} == {
        "A-0001": "paid", "A-0002": "paid", "A-0003": "sent", "A-0004": "open",
    }  # fmt: skip
    assert kinds["order_line"] == 10 and kinds["cash_payment"] == 2, kinds
    [drawer] = [s["data"] for s in states if s["entity_type"] == "cash_drawer"]
    assert drawer == {"name": "Front till", "archived": False}
    ribeye = next(s for s in states if s["data"].get("name") == "Ribeye steak"
                  and s["entity_type"] == "product")  # fmt: skip
    assert len(ribeye["data"]["modifier_group_ids"]) == 2
