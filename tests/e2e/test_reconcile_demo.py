"""Support staff reconcile the demo end to end: ``fynlo dev`` (what ``make run`` runs) with
its private database and fake providers, payments taken on it, then ``fynlo reconcile`` in
another process finding that database and those providers on its own, as on a laptop.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.processes import FYNLO, free_port, fynlo_env, start, stop, wait_for

STATE_FILE = "dev-providers.json"


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # Not pytest's tmp_path: as root that sits in a 0700 folder the postgres user cannot enter.
    folder = Path(tempfile.mkdtemp(prefix="fynlo-reconcile-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def fynlo(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FYNLO, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def owner_headers(base: str, env: dict[str, str]) -> dict[str, str]:
    demo = json.loads(fynlo("demo", "--json", env=env).stdout)
    owner = demo["logins"][0]
    signed_in = httpx.post(
        f"{base}/api/v1/auth/login",
        json={"email": owner["email"], "password": owner["password"]},
        timeout=10,
    )
    assert signed_in.status_code == 200, signed_in.text
    return {"Authorization": f"Bearer {signed_in.json()['access_token']}"}


def keyed(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Idempotency-Key": str(uuid.uuid4())}


def card_payment_booked_by_stripe(base: str, headers: dict[str, str], env: dict[str, str]) -> str:
    """A fresh demo order paid by card at the fake Stripe, once Stripe has booked it (its fee
    arrives with ``charge.updated`` a moment after the charge, as at Stripe)."""
    order = json.loads(fynlo("demo", "--order", "--json", env=env).stdout)
    paid = httpx.post(
        f"{base}/api/v1/payments",
        json={
            "order_id": order["id"],
            "method": "card",
            "amount": order["amount"],
            "payment_method": "pm_card_visa",
        },
        headers=keyed(headers),
        timeout=30,
    )
    assert paid.status_code == 201, paid.text
    payment: dict[str, Any] = paid.json()
    assert payment["state"] == "succeeded", payment
    deadline = time.monotonic() + 30
    while payment["fees"]["provider_fee"] is None:
        assert time.monotonic() < deadline, f"Stripe never booked {payment['id']}"
        time.sleep(0.3)
        payment = httpx.get(
            f"{base}/api/v1/payments/{payment['id']}", headers=headers, timeout=10
        ).json()
    return str(payment["id"])


def test_the_demo_reconciles_to_a_true_answer(data_dir: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = fynlo_env(FYNLO_DATA_DIR=str(data_dir), FYNLO_PORT=str(port))
    server = start("dev", env=env)
    try:
        wait_for(f"{base}/ready", server)
        assert (data_dir / STATE_FILE).stat().st_mode & 0o077 == 0  # throwaway secrets inside

        # A day when nothing happened is not "balanced": nothing was compared.
        empty = fynlo("reconcile", "--since", "2020-01-01", env=env)
        assert empty.returncode == 3, empty
        assert empty.stdout.splitlines()[-1].startswith("NOTHING TO COMPARE")

        headers = owner_headers(base, env)
        payment_id = card_payment_booked_by_stripe(base, headers, env)
        refunded = httpx.post(
            f"{base}/api/v1/payments/{payment_id}/refunds",
            json={"amount": 500, "reason": "a cold coffee"},
            headers=keyed(headers),
            timeout=30,
        )
        assert refunded.status_code == 201, refunded.text

        now = datetime.now(UTC)
        window = ["--since", (now - timedelta(hours=3)).isoformat()]
        window += ["--until", (now + timedelta(hours=3)).isoformat()]
        ran = fynlo("reconcile", *window, "--format", "json", env=env)
        text = fynlo("reconcile", *window, env=env)
    finally:
        code, output = stop(server, signal.SIGTERM)
    assert code == 0, output

    assert ran.returncode == 0, ran
    report = json.loads(ran.stdout)
    assert (report["outcome"], report["balanced"], report["findings"]) == ("balanced", True, [])
    assert report["providers_from"].startswith("the fakes `make run` started")
    providers = {p["provider"]: p for p in report["providers"]}
    # The card and its refund, in our books and in the fake Stripe's, to the penny.
    assert (providers["stripe"]["ours_count"], providers["stripe"]["theirs_count"]) == (2, 2)
    assert providers["stripe"]["ours_net"] == providers["stripe"]["theirs_net"] > 0
    assert providers["open_banking"]["theirs_count"] == 0  # read, and nothing there
    assert providers["cash"]["ours_count"] == 2  # the demo's two orders paid in cash
    assert report["compared"] == 6
    assert text.returncode == 0, text
    assert text.stdout.splitlines()[-1] == (
        "BALANCED: 6 payments and refunds compared, no differences"
    )

    # Once `make run` stops, its providers' file goes with it, and so does its database.
    assert not (data_dir / STATE_FILE).exists()
    after = fynlo("reconcile", env=env)
    assert after.returncode == 2, after
    assert after.stderr.startswith("error: No database: start `make run`"), after
