"""The benchmarks' database: a throwaway PostgreSQL holding the migrated demo.

Migrating and loading the demo take about 8 s, most of a quick benchmark's set-up. So
``load.run_benches`` prepares one cluster that way before the first benchmark and stops it
(``FYNLO_BENCH_TEMPLATE`` names its folder); each benchmark then starts on its own copy of
that stopped cluster's files, which takes about a second. A benchmark run on its own, with no
template, migrates and loads the demo itself. Either way it gets a private cluster it may
change as it likes, deleted on exit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from load import processes
from server.db.cluster import PostgresCluster

TEMPLATE_ENV = "FYNLO_BENCH_TEMPLATE"


@contextmanager
def demo_cluster() -> Iterator[PostgresCluster]:
    """A started throwaway cluster; a copy of the template's files when there is one.

    Call :func:`load_demo` once the server's environment is known: it does nothing on a copy.
    """
    folder = Path(tempfile.mkdtemp(prefix="fynlo-pg-"))
    try:
        template = os.environ.get(TEMPLATE_ENV)
        if template:
            # cp -a keeps owners and modes: as root, PostgreSQL runs as its own user.
            copy = [shutil.which("cp") or "/bin/cp", "-a"]
            subprocess.run(  # noqa: S603 - cp, our own folders
                [*copy, str(Path(template) / "pgdata"), str(folder / "pgdata")], check=True
            )
        with PostgresCluster(folder, durable=False) as cluster:
            yield cluster
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def load_demo(env: dict[str, str], *, failure: type[Exception]) -> None:
    """``fynlo db migrate`` and ``fynlo demo --load``, unless the cluster is the template's copy."""
    if os.environ.get(TEMPLATE_ENV):
        return
    processes.fynlo_once("db", "migrate", env=env, failure=failure)
    processes.fynlo_once("demo", "--load", env=env, failure=failure)


@contextmanager
def template(*, failure: type[Exception]) -> Iterator[Path]:
    """A stopped cluster with the migrated demo for :func:`demo_cluster` to copy; then deleted."""
    folder = Path(tempfile.mkdtemp(prefix="fynlo-pg-template-"))
    try:
        with (
            tempfile.TemporaryDirectory(prefix="fynlo-bench-template-") as scratch,
            PostgresCluster(folder, durable=False) as cluster,
        ):
            env = processes.server_env(
                dsn=cluster.dsn,
                port=processes.free_port(),
                data_dir=Path(scratch) / "data",
                key_file=Path(scratch) / "keys" / "signing.jwks.json",
            )
            processes.fynlo_once("db", "migrate", env=env, failure=failure)
            processes.fynlo_once("demo", "--load", env=env, failure=failure)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
