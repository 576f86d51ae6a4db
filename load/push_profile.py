"""Where the sync push's time goes: the two switches of ``load/sync_bench.py``'s push phase.

- ``SYNC_BENCH_PROFILE=<file>``: py-spy samples the server for the measured push (raw
  collapsed stacks, on-CPU samples only: where its CPU goes, not where it waits; py-spy must
  be installed in this venv).
- ``SYNC_BENCH_STATEMENTS=<n>``: PostgreSQL loads ``pg_stat_statements`` (the throwaway cluster
  is restarted with it before anything runs) and the report lists the ``n`` statements with
  the most total time during the push, with their calls and mean time.

Both are off by default: the figures of a normal run are taken without them.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg

from load import processes
from server.db.cluster import PostgresCluster

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parent.parent


def statements_wanted() -> int:
    return int(os.environ.get("SYNC_BENCH_STATEMENTS") or 0)


def load_statements(cluster: PostgresCluster) -> None:
    """Restart ``cluster`` with ``pg_stat_statements`` preloaded (it cannot be loaded later)."""
    with (cluster.data_dir / "pgdata" / "postgresql.auto.conf").open("a") as conf:
        conf.write("shared_preload_libraries = 'pg_stat_statements'\n")
        conf.write("pg_stat_statements.track = 'all'\n")
    cluster.stop()
    cluster.start()


async def reset_statements(conn: asyncpg.Connection) -> None:
    await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    await conn.execute("SELECT pg_stat_statements_reset()")


async def top_statements(conn: asyncpg.Connection, count: int) -> list[str]:
    rows = await conn.fetch(
        "SELECT calls, total_exec_time, mean_exec_time, rows, query FROM pg_stat_statements"
        " WHERE query NOT ILIKE '%pg_stat_statements%' ORDER BY total_exec_time DESC LIMIT $1",
        count,
    )
    return [
        f"| {row['calls']:,} | {row['total_exec_time'] / 1000:.2f} | {row['mean_exec_time']:.2f} "
        f"| {row['rows']:,} | `{' '.join(row['query'].split())[:160]}` |"
        for row in rows
    ]


@contextmanager
def profiled(server: int) -> Iterator[None]:
    """py-spy samples ``server`` for the block when ``SYNC_BENCH_PROFILE`` names a file."""
    output = os.environ.get("SYNC_BENCH_PROFILE")
    if not output:
        yield
        return
    argv = [str(BIN / "py-spy"), "record", "--pid", str(server), "--duration", "600"]
    argv += ["--rate", "200", "--format", "raw", "--output", output]
    with open(f"{output}.log", "w") as log:
        spy = processes.start(argv, cwd=REPO, env=dict(os.environ), log=log)
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)  # py-spy writes what it sampled when interrupted
        try:
            spy.wait(timeout=processes.STOP_SECONDS)
        finally:
            processes.stop(spy)
