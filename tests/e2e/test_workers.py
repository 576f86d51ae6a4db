"""``fynlo serve --workers 2``: two processes answer on one port, a dead one is replaced, a
crash loop ends the supervisor with 1, and SIGTERM stops everything within the grace.

Which process answered is read from the kernel (``/proc``), not from the server: the
connection's server-side socket belongs to exactly one worker.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar import Litestar

from server.cli.workers import MAX_RESTARTS
from server.settings import Settings
from tests.e2e.processes import alive, free_port, fynlo_env, start, stop, wait_for

WAIT_SECONDS = 30.0
GRACEFUL_SHUTDOWN_SECONDS = Settings().shutdown_grace_seconds
"""The default the servers here run with. (Not read from ``server.cli.dev``: importing it
into the test process changes how a later sync test's push is judged, seen on main too.)"""


def children_of(pid: int) -> set[int]:
    """Live processes whose parent is ``pid``."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def owner_of_connection(server_port: int, client_port: int, candidates: set[int]) -> int | None:
    """Which of ``candidates`` holds the server side of the connection from ``client_port``."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, state = fields[1], fields[2], fields[3]
        if (
            int(local.split(":")[1], 16) == server_port
            and int(remote.split(":")[1], 16) == client_port
            and state == "01"  # established
        ):
            inode = fields[9]
    if inode is None:
        return None
    for pid in candidates:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) == f"socket:[{inode}]":
                    return pid
            except FileNotFoundError:
                continue
    return None


def serving_pids(port: int, workers: set[int], *, attempts: int = 200) -> set[int]:
    """Open connections (kept open) and answer requests until every worker has served one."""
    served: set[int] = set()
    connections: list[socket.socket] = []
    try:
        for _ in range(attempts):
            connection = socket.create_connection(("127.0.0.1", port), timeout=10)
            connections.append(connection)
            connection.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert connection.recv(4096).startswith(b"HTTP/1.1 200"), "no answer"
            owner = owner_of_connection(port, connection.getsockname()[1], workers)
            if owner is not None:
                served.add(owner)
            if served == workers:
                break
    finally:
        for connection in connections:
            connection.close()
    return served


def wait_for_children(pid: int, count: int, *, other_than: set[int]) -> set[int]:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        children = children_of(pid)
        if len(children) == count and not children & other_than:
            return children
        time.sleep(0.1)
    raise AssertionError(f"{pid} has children {children_of(pid)}, wanted {count} new ones")


@pytest.fixture
def workers(app: Litestar, settings: Settings) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """``fynlo serve --workers 2`` on the session's database; killed if a test leaves it."""
    port = free_port()
    env = fynlo_env(
        FYNLO_DATABASE_URL=settings.database_url or "",
        FYNLO_DATA_DIR=str(settings.data_dir),
        FYNLO_PORT=str(port),
        FYNLO_PAYMENT_POLL_SECONDS="3600",  # leave other tests' payments alone
    )
    process = start("serve", "--workers", "2", env=env)
    try:
        wait_for(f"http://127.0.0.1:{port}/ready", process, seconds=WAIT_SECONDS)
        yield process, port
    finally:
        if process.poll() is None:
            stop(process, signal.SIGKILL)
        if process.stdout is not None:
            process.stdout.close()


def test_two_workers_serve_and_stop_within_the_grace_on_sigterm(
    workers: tuple[subprocess.Popen[str], int],
) -> None:
    process, port = workers
    children = wait_for_children(process.pid, 2, other_than=set())
    assert serving_pids(port, children) == children

    # One dies unexpectedly: replaced, and both serve again.
    os.kill(min(children), signal.SIGKILL)
    replaced = wait_for_children(process.pid, 2, other_than={min(children)})
    wait_for(f"http://127.0.0.1:{port}/ready", process, seconds=WAIT_SECONDS)
    assert serving_pids(port, replaced) == replaced

    started = time.monotonic()
    code, output = stop(process, signal.SIGTERM)
    took = time.monotonic() - started
    print(f"two workers stopped {took:.2f} s after SIGTERM")
    assert code == 0, output
    assert took < GRACEFUL_SHUTDOWN_SECONDS + 5, took
    assert not any(alive(pid) for pid in replaced), output
    assert "died (signal SIGKILL): replacing it" in output


def test_workers_that_keep_dying_end_the_supervisor_with_1(
    workers: tuple[subprocess.Popen[str], int],
) -> None:
    process, _ = workers
    killed: set[int] = set()
    for _ in range(MAX_RESTARTS + 1):
        children = wait_for_children(process.pid, 2, other_than=killed)
        victim = min(children)
        os.kill(victim, signal.SIGKILL)
        killed.add(victim)
    try:
        process.wait(timeout=GRACEFUL_SHUTDOWN_SECONDS + 10)
    except subprocess.TimeoutExpired:
        raise AssertionError("the supervisor kept going") from None
    output = process.stdout.read() if process.stdout else ""
    assert process.returncode == 1, output
    assert "giving up" in output
    assert not children_of(process.pid)
