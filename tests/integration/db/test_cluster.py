"""The private PostgreSQL cluster: start, keep data, stop cleanly, refuse to double-start."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from server.db.cluster import PostgresCluster, PostgresNotInstalled, find_bindir


def fetch(dsn: str, sql: str) -> object:
    """Run one statement on a fresh connection and return the first value."""

    async def run() -> object:
        connection = await asyncpg.connect(dsn)
        try:
            return await connection.fetchval(sql)
        finally:
            await connection.close()

    return asyncio.run(run())


def assert_gone(pid: int) -> None:
    """Wait until the process has exited and been reaped (PID 1 reaps within a few seconds)."""
    deadline = time.monotonic() + 15
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        assert time.monotonic() < deadline, f"postmaster {pid} is still there"
        time.sleep(0.05)


@pytest.fixture
def cluster_dir() -> Iterator[Path]:
    """A folder the ``postgres`` OS user can reach when the tests run as root.

    pytest's ``tmp_path`` sits under a 0700 folder, which PostgreSQL cannot reach as root.
    """
    folder = Path(tempfile.mkdtemp(prefix="fynlo-pg-test-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_throwaway_cluster_answers_and_is_deleted() -> None:
    with PostgresCluster.throwaway() as cluster:
        assert cluster.dsn == f"postgresql://postgres@127.0.0.1:{cluster.port}/fynlo"
        assert fetch(cluster.dsn, "select 1") == 1
        assert fetch(cluster.dsn, "select current_setting('fsync')") == "off"
        folder = cluster.data_dir
    assert not folder.exists()


def test_durable_cluster_keeps_rows_and_port(cluster_dir: Path) -> None:
    with PostgresCluster(cluster_dir) as first:
        fetch(first.dsn, "create table tender (amount_pence integer)")
        fetch(first.dsn, "insert into tender values (1250)")
        port = first.port
    with PostgresCluster(cluster_dir) as second:
        assert second.port == port
        assert fetch(second.dsn, "select amount_pence from tender") == 1250
        assert fetch(second.dsn, "select current_setting('fsync')") == "on"


def test_stop_is_idempotent_and_leaves_no_process(cluster_dir: Path) -> None:
    cluster = PostgresCluster(cluster_dir, durable=False)
    cluster.stop()
    cluster.start()
    pid = cluster.pid
    assert pid is not None
    cluster.stop()
    cluster.stop()
    assert cluster.pid is None
    assert_gone(pid)
    assert not (cluster_dir / "pgdata" / "postmaster.pid").exists()


def test_second_start_on_a_running_folder_is_refused(cluster_dir: Path) -> None:
    with PostgresCluster(cluster_dir, durable=False) as running:
        with pytest.raises(RuntimeError, match="already started"):
            running.start()
        intruder = PostgresCluster(cluster_dir, durable=False)
        with pytest.raises(RuntimeError, match="already run by another process"):
            intruder.start()
        intruder.stop()
        assert fetch(running.dsn, "select 1") == 1


def test_start_after_a_crash_left_a_stale_postmaster_pid(cluster_dir: Path) -> None:
    crashed = PostgresCluster(cluster_dir, durable=False)
    crashed.start()
    pid = crashed.pid
    assert pid is not None
    os.killpg(pid, signal.SIGKILL)
    assert_gone(pid)
    crashed.stop()
    assert (cluster_dir / "pgdata" / "postmaster.pid").exists()
    with PostgresCluster(cluster_dir, durable=False) as restarted:
        assert fetch(restarted.dsn, "select 1") == 1


def test_long_folder_puts_the_socket_in_a_short_temp_dir(cluster_dir: Path) -> None:
    deep = cluster_dir / ("a" * 50) / ("b" * 50)
    with PostgresCluster(deep, durable=False) as cluster:
        assert fetch(cluster.dsn, "select 1") == 1
        assert not list(deep.glob(".s.PGSQL.*"))


def test_folder_behind_a_private_directory(cluster_dir: Path) -> None:
    private = cluster_dir / "private"
    private.mkdir(mode=0o700)
    cluster = PostgresCluster(private / "postgres", durable=False)
    if os.geteuid() == 0:  # the postgres OS user cannot search a 0700 root-owned folder
        with pytest.raises(RuntimeError, match=rf"chmod o\+x {private}`"):
            cluster.start()
        assert cluster.pid is None
    else:  # the current user owns the folder, so PostgreSQL runs as it and gets in
        with cluster:
            assert fetch(cluster.dsn, "select 1") == 1


def test_missing_postgresql_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FYNLO_PG_BINDIR", str(tmp_path))
    with pytest.raises(PostgresNotInstalled, match="apt-get install -y postgresql"):
        find_bindir()
    with pytest.raises(PostgresNotInstalled, match="FYNLO_DATABASE_URL"):
        PostgresCluster(tmp_path)
