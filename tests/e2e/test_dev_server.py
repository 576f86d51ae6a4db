"""``fynlo dev`` (what ``make run`` runs): private database, demo data, clean shutdown."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

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


def demo_login(base: str) -> dict[str, str]:
    credentials = json.loads(
        subprocess.run(
            [FYNLO, "demo", "--json"], check=True, capture_output=True, text=True, timeout=30
        ).stdout
    )
    owner = credentials["logins"][0]
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
    orders = httpx.get(f"{base}/api/v1/orders", headers=demo_login(base), timeout=10).json()
    assert len(orders["items"]) == 4
    code, output = stop(first, signal.SIGTERM)
    assert code == 0, output
    assert "Loaded demo data." in output
    assert "owner@demo.fynlo.app" in output and f"{base}/health" in output
    assert wait_gone(pid), "PostgreSQL outlived the server"

    # A second run reuses the data: no second load, same orders; Ctrl-C stops it too.
    second = start("dev", env=env)
    wait_for(f"{base}/ready", second)
    pid = postmaster_pid(data_dir)
    orders = httpx.get(f"{base}/api/v1/orders", headers=demo_login(base), timeout=10).json()
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


def test_demo_json_prints_the_credentials() -> None:
    result = subprocess.run(
        [FYNLO, "demo", "--json"], capture_output=True, text=True, timeout=30, check=True
    )
    credentials = json.loads(result.stdout)
    assert {login["role"] for login in credentials["logins"]} == {"owner", "manager"}
    assert all(login["password"] for login in credentials["logins"])
