"""`make run` takes payment end to end against the fake providers, clicked in a real browser.

``fynlo dev`` starts the fake Stripe and the pay-by-bank sandbox; the customer's phone is
headless Chromium on the sandbox's payment page. Webhooks travel from the fakes to the
server on 127.0.0.1, as they would from the real providers.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
from playwright.sync_api import sync_playwright

from tests.e2e.processes import free_port, fynlo_env, start, stop, wait_for
from tests.e2e.test_dev_server import data_dir, demo_login  # noqa: F401  (a fixture)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]
WAIT_SECONDS = 20


def until(read: Any, done: Any) -> Any:
    """Poll ``read()`` until ``done(value)``, for at most WAIT_SECONDS; return the last value."""
    value = read()
    deadline = time.monotonic() + WAIT_SECONDS
    while not done(value) and time.monotonic() < deadline:
        time.sleep(0.2)
        value = read()
    return value


def test_make_run_takes_a_qr_payment_and_falls_back_to_card(data_dir: Path) -> None:  # noqa: F811
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = fynlo_env(FYNLO_DATA_DIR=str(data_dir), FYNLO_PORT=str(port))
    server = start("dev", env=env)
    http = httpx.Client(base_url=base, timeout=10)
    try:
        wait_for(f"{base}/ready", server)
        http.headers.update(demo_login(base, env))
        unpaid = [
            order
            for status in ("open", "sent")
            for order in http.get("/api/v1/orders", params={"status": status}).json()["items"]
        ]
        assert len(unpaid) == 2

        def take(order: dict[str, Any], method: str, **body: Any) -> dict[str, Any]:
            due = http.get(f"/api/v1/orders/{order['id']}/payments").json()["remaining"]
            response = http.post(
                "/api/v1/payments",
                json={"order_id": order["id"], "method": method, "amount": due, **body},
                headers={"Idempotency-Key": str(uuid4())},
            )
            assert response.status_code == 201, response.text
            payment: dict[str, Any] = response.json()
            return payment

        def read(payment: dict[str, Any]) -> dict[str, Any]:
            body: dict[str, Any] = http.get(f"/api/v1/payments/{payment['id']}").json()
            return body

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            phone = browser.new_page()

            # Scan, approve: the bank's webhook marks the order paid.
            first = take(unpaid[0], "open_banking")
            qr = http.get(first["qr"]["png"])
            assert (qr.status_code, qr.headers["content-type"]) == (200, "image/png")
            phone.goto(first["qr"]["link"])
            assert "£" in phone.inner_text("body")
            phone.click("text=Approve")
            phone.wait_for_load_state()
            paid = until(lambda: read(first), lambda p: p["state"] == "succeeded")
            assert paid["state"] == "succeeded", paid
            summary = http.get(f"/api/v1/orders/{unpaid[0]['id']}/payments").json()
            assert summary["order_status"] == "paid"

            # Scan, decline: the answer offers card; the card pays.
            second = take(unpaid[1], "open_banking")
            phone.goto(second["qr"]["link"])
            phone.click("text=Decline")
            phone.wait_for_load_state()
            declined = until(lambda: read(second), lambda p: p["state"] == "failed")
            assert declined["fallback"][:2] == ["card", "apple_pay"], declined
            browser.close()

        card = take(unpaid[1], "card", payment_method="pm_card_visa")
        assert card["state"] == "succeeded"
        assert card["fees"]["provider_fee"] is not None  # Stripe's own figure, from the fake
        summary = http.get(f"/api/v1/orders/{unpaid[1]['id']}/payments").json()
        assert (summary["order_status"], summary["remaining"]) == ("paid", 0)
    finally:
        http.close()
        code, output = stop(server, signal.SIGTERM)
    assert code == 0, output
    assert "pay-by-bank sandbox at http://127.0.0.1:" in output
