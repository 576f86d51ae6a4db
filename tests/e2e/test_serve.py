"""``fynlo serve`` against an existing database: ``/ready`` tells what is wrong."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator

import httpx
import pytest

from server.db.cluster import PostgresCluster
from tests.e2e.processes import free_port, fynlo_env, start, stop, wait_for


def _serve(database_url: str) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    process = start("serve", env=fynlo_env(FYNLO_DATABASE_URL=database_url, FYNLO_PORT=str(port)))
    base = f"http://127.0.0.1:{port}"
    wait_for(f"{base}/health", process)
    return process, base


@pytest.fixture
def empty_database(postgres: PostgresCluster) -> Iterator[str]:
    """A database in the session's cluster that no migration has touched."""
    dsn = postgres.dsn
    name = "fynlo_unmigrated"
    subprocess.run(
        [
            str(postgres.bindir / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(postgres.port),
            "-U",
            "postgres",
            name,
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    yield dsn.rsplit("/", 1)[0] + f"/{name}"
    subprocess.run(
        [
            str(postgres.bindir / "dropdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(postgres.port),
            "-U",
            "postgres",
            "--force",
            name,
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )


def test_ready_is_503_until_migrated(empty_database: str) -> None:
    process, base = _serve(empty_database)
    try:
        response = httpx.get(f"{base}/ready", timeout=10)
        assert response.status_code == 503
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["reason"] == "migrations_pending"
        assert response.json()["code"] == "unavailable"
        migrate = subprocess.run(
            [process.args[0], "db", "migrate"],  # type: ignore[index]
            env=fynlo_env(FYNLO_DATABASE_URL=empty_database),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert migrate.returncode == 0, migrate.stdout + migrate.stderr
        assert httpx.get(f"{base}/ready", timeout=10).status_code == 200
    finally:
        code, output = stop(process, signal.SIGTERM)
    assert code == 0, output


def test_ready_is_503_when_the_database_is_down() -> None:
    nobody_listens = f"postgresql://postgres@127.0.0.1:{free_port()}/fynlo"
    process, base = _serve(nobody_listens)
    try:
        response = httpx.get(f"{base}/ready", timeout=10)
        assert response.status_code == 503
        assert response.json()["reason"] == "database_unreachable"
        assert httpx.get(f"{base}/health", timeout=10).status_code == 200
    finally:
        code, output = stop(process, signal.SIGTERM)
    assert code == 0, output
