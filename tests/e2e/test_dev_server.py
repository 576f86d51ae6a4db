"""``fynlo dev`` (what ``make run`` runs): private database, demo data, clean shutdown."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.processes import (
    FYNLO,
    free_port,
    fynlo_env,
    start,
    stop,
    wait_for,
    wait_gone,
)


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # Not pytest's tmp_path: as root that sits in a 0700 folder the postgres user cannot enter.
    folder = Path(tempfile.mkdtemp(prefix="fynlo-dev-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "postgres" / "pgdata" / "postmaster.pid").read_text().split()[0])


def demo_credentials(env: dict[str, str]) -> dict[str, Any]:
    result = subprocess.run(
        [FYNLO, "demo", "--json"], env=env, check=True, capture_output=True, text=True, timeout=60
    )
    credentials: dict[str, Any] = json.loads(result.stdout)
    return credentials


def demo_login(base: str, env: dict[str, str]) -> dict[str, str]:
    owner = demo_credentials(env)["logins"][0]
    response = httpx.post(
        f"{base}/api/v1/auth/login",
        json={"email": owner["email"], "password": owner["password"]},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_dev_serves_demo_data_and_stops_cleanly(data_dir: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = fynlo_env(FYNLO_DATA_DIR=str(data_dir), FYNLO_PORT=str(port))

    first = start("dev", env=env)
    wait_for(f"{base}/health", first)
    assert wait_for(f"{base}/ready", first).json() == {"status": "ready"}
    pid = postmaster_pid(data_dir)
    orders = httpx.get(f"{base}/api/v1/orders", headers=demo_login(base, env), timeout=10).json()
    assert len(orders["items"]) == 4
    # The printed demo data is enough to enrol an iPad and sign an employee in on it.
    credentials = demo_credentials(env)
    enrolled = httpx.post(
        f"{base}/api/v1/devices/enroll", json={"code": credentials["enrolment_code"]}, timeout=10
    )
    assert enrolled.status_code == 201, enrolled.text
    cashier = next(e for e in credentials["employees"] if e["role"] == "cashier")
    signed_in = httpx.post(
        f"{base}/api/v1/auth/pin",
        json={"employee_id": cashier["id"], "pin": cashier["pin"]},
        headers={"Authorization": f"Bearer {enrolled.json()['access_token']}"},
        timeout=10,
    )
    assert signed_in.status_code == 200, signed_in.text
    code, output = stop(first, signal.SIGTERM)
    assert code == 0, output
    assert "Loaded demo data." in output
    assert "owner@demo.fynlo.app" in output and f"{base}/health" in output
    assert "Enrolment code for an iPad:" in output and "PIN 7391" in output
    assert wait_gone(pid), "PostgreSQL outlived the server"

    # A second run reuses the data: no second load, same orders; Ctrl-C stops it too.
    second = start("dev", env=env)
    wait_for(f"{base}/ready", second)
    pid = postmaster_pid(data_dir)
    orders = httpx.get(f"{base}/api/v1/orders", headers=demo_login(base, env), timeout=10).json()
    assert len(orders["items"]) == 4
    code, output = stop(second, signal.SIGINT)
    assert code == 0, output
    assert "Loaded demo data." not in output
    assert wait_gone(pid), "PostgreSQL outlived the server"


def test_dev_without_postgresql_says_how_to_install(data_dir: Path) -> None:
    empty = data_dir / "no-postgres-here"
    empty.mkdir()
    env = fynlo_env(FYNLO_DATA_DIR=str(data_dir), FYNLO_PG_BINDIR=str(empty))
    result = subprocess.run(
        [FYNLO, "dev"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert "apt-get install -y postgresql" in result.stderr


def test_demo_json_without_a_database_still_lists_the_logins(data_dir: Path) -> None:
    credentials = demo_credentials(fynlo_env(FYNLO_DATA_DIR=str(data_dir)))
    assert {login["role"] for login in credentials["logins"]} == {"owner", "manager"}
    assert all(login["password"] for login in credentials["logins"])
    roles = {employee["role"] for employee in credentials["employees"]}
    assert roles == {"manager", "cashier", "server", "kitchen"}
    assert credentials["enrolment_code"] is None  # nothing to store it in
