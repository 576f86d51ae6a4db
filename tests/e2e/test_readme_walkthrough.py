"""The README's commands, as written, against `make run`: twice in a row, and after a restart.

The shell blocks are read from README.md (so they cannot drift from what a reader runs) and
run in order in bash, with their variables carried from block to block as in one terminal.
The reader's phone is headless Chromium on the pay-by-bank sandbox's page; webhooks travel
from the fakes to the server on 127.0.0.1, as they would from the real providers.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, sync_playwright

from tests.e2e.processes import FYNLO, free_port, fynlo_env, start, stop, wait_for
from tests.e2e.test_dev_server import data_dir  # noqa: F401  (a fixture)
from tests.optional import CHROMIUM

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]
WAIT_SECONDS = 20
BLOCK_SECONDS = 60


def readme_blocks() -> list[str]:
    """The bash blocks from "Demo logins" on: sign in, a QR payment, its state, card."""
    text = (REPO / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text[text.index("## Demo logins") :], re.S)
    assert len(blocks) == 4, "the walkthrough's blocks changed: update this test with them"
    return blocks


class Terminal:
    """Runs blocks as a reader would in one terminal beside `make run` on ``port``."""

    def __init__(self, port: int, env: dict[str, str], folder: Path) -> None:
        self.port, self.env, self.state = port, env, folder / "shell-state"
        self.state.write_text("")

    def run(self, block: str) -> list[Any]:
        """The block's output, as the JSON documents jq printed."""
        script = "\n".join(
            [
                "set -euo pipefail",
                f"source {self.state}",
                block.replace("localhost:8000", f"localhost:{self.port}"),
                f"declare -p TOKEN ORDER PAYMENT > {self.state} 2>/dev/null || true",
            ]
        )
        result = subprocess.run(
            ["bash", "-c", script],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=BLOCK_SECONDS,
            check=False,
        )
        assert result.returncode == 0, result
        return documents(result.stdout)


def documents(output: str) -> list[Any]:
    decoder, found, at = json.JSONDecoder(), [], 0
    while at < len(output.rstrip()):
        if output[at].isspace():
            at += 1
            continue
        value, at = decoder.raw_decode(output, at)
        found.append(value)
    return found


def until(read: Callable[[], Any], done: Callable[[Any], bool]) -> Any:
    """Poll ``read()`` until ``done(value)``, for at most WAIT_SECONDS; return the last value."""
    value = read()
    deadline = time.monotonic() + WAIT_SECONDS
    while not done(value) and time.monotonic() < deadline:
        time.sleep(0.3)
        value = read()
    return value


def to_the_bank(phone: Page, link: str, shot: Path) -> None:
    """The diner's side of the QR: our page asks who pays, then TrueLayer's hosted page (the
    sandbox's stand-in) asks for the bank and consent, and the bank's screen is left open."""
    phone.goto(link)
    assert "£32.50" in phone.inner_text("body")
    phone.fill("input[name=name]", "Ada Lovelace")
    phone.fill("input[name=email]", "ada@example.com")
    phone.screenshot(path=str(shot))
    phone.click("button:has-text('Continue')")
    phone.click("button:has-text('Mock UK Bank')")
    phone.click("button:has-text('Continue to your bank')")
    assert "£32.50" in phone.inner_text("body")


def walk_through(terminal: Terminal, phone: Page, shots: Path) -> None:
    sign_in, ask, look, card = readme_blocks()
    orders = terminal.run(sign_in)
    assert {"A-0001", "A-0002"} <= {order["number"] for order in orders}, orders

    # A fresh order, paid by approving the QR on the phone.
    [asked] = terminal.run(ask)
    assert (asked["state"], asked["amount"]) == ("awaiting_customer", 3250), asked
    to_the_bank(phone, asked["qr"]["link"], shots / "1-payer-page.png")
    phone.screenshot(path=str(shots / "2-bank.png"))
    phone.click("button.approve")
    phone.wait_for_url(re.compile(r".*/pay/return\?payment_id=.+"))  # the bank's 3 s refresh
    phone.screenshot(path=str(shots / "3-back-from-the-bank.png"))
    assert "Please go back to the till" in phone.inner_text("body")
    payment, order = until(lambda: terminal.run(look), lambda x: x[0]["state"] == "succeeded")
    assert payment["state"] == "succeeded", payment
    assert (order["order_status"], order["paid"], order["remaining"]) == ("paid", 3250, 0)

    # Another fresh order: declined on the phone, the answer offers card, the card pays.
    [asked] = terminal.run(ask)
    assert asked["order"] != orders[0]["number"]
    to_the_bank(phone, asked["qr"]["link"], shots / "4-payer-page-again.png")
    phone.click("button.decline")
    payment, order = until(lambda: terminal.run(look), lambda x: x[0]["state"] == "failed")
    assert payment["state"] == "failed", payment
    assert payment["fallback"][:2] == ["card", "apple_pay"], payment
    assert (order["order_status"], order["remaining"]) == ("open", 3250), order
    [paid] = terminal.run(card)
    assert paid["state"] == "succeeded", paid
    assert paid["fees"]["estimated_provider_fee"] > 0, paid
    # Stripe's own figure arrives when Stripe books the charge (charge.updated), as README says.
    fetch = f'curl -s localhost:8000/api/v1/payments/{paid["id"]} -H "Authorization: Bearer $TOKEN"'
    [booked] = until(
        lambda: terminal.run(fetch), lambda x: x[0]["fees"]["provider_fee"] is not None
    )
    assert booked["fees"]["provider_fee"] > 0, booked
    _, order = terminal.run(look)
    assert (order["order_status"], order["remaining"]) == ("paid", 0), order


def fynlo(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FYNLO, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_commands_without_a_database_say_how_to_get_one(data_dir: Path) -> None:  # noqa: F811
    result = fynlo("demo", "--order", env=fynlo_env(FYNLO_DATA_DIR=str(data_dir)))
    assert result.returncode == 1, result
    assert result.stderr.startswith("No database: start `make run`"), result


def test_the_readme_walkthrough_works_twice_and_after_a_restart(
    data_dir: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    shots = tmp_path  # what the diner's phone showed, to look at (the path is printed)
    print(f"screenshots: {shots}")
    port = free_port()
    env = fynlo_env(FYNLO_DATA_DIR=str(data_dir), FYNLO_PORT=str(port))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        phone = browser.new_page()
        for rounds in (2, 1):  # `make run`, the walkthrough twice; again after a restart
            server = start("dev", env=env)
            try:
                wait_for(f"http://127.0.0.1:{port}/ready", server)
                terminal = Terminal(port, env, data_dir)
                for _ in range(rounds):
                    walk_through(terminal, phone, shots)
                # Support commands find `make run`'s database the way `fynlo demo` does.
                status = fynlo("db", "status", env=env)
                assert (status.returncode, status.stdout) == (0, "0 pending\n"), status
            finally:
                code, output = stop(server, signal.SIGTERM)
            assert code == 0, output
            assert f"API docs http://127.0.0.1:{port}/schema " in output
            assert f"back office http://127.0.0.1:{port}/office/ " in output
            assert f"database PostgreSQL in {data_dir / 'postgres'}" in output
        browser.close()
