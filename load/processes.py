"""Child processes for the benchmarks and the Swift test harness: started, awaited, stopped.

Every wait has a deadline; a child's output goes to a file (never a pipe nobody reads); and
a child dies with its parent even if the parent is killed without cleaning up.
"""

from __future__ import annotations

import ctypes
import signal
import socket
import subprocess
import time
from contextlib import suppress
from pathlib import Path
from typing import IO, Any

import httpx

READY_SECONDS = 60
STOP_SECONDS = 20
PR_SET_PDEATHSIG = 1  # linux/prctl.h
_LIBC = ctypes.CDLL(None, use_errno=True)


def start(
    argv: list[str], *, cwd: Path, env: dict[str, str], log: IO[str]
) -> subprocess.Popen[Any]:
    return subprocess.Popen(  # noqa: S603 - this venv's fynlo, locust or swift, our arguments
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,  # a file, never a pipe nobody reads: a full pipe would stall the child
        stderr=subprocess.STDOUT,
        preexec_fn=die_with_parent,
    )


def die_with_parent() -> None:
    """In the child: receive SIGTERM if the parent dies without cleaning up (even SIGKILL)."""
    _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def wait_ready(
    url: str, server: subprocess.Popen[Any], server_log: Path, *, failure: type[Exception]
) -> None:
    """Poll ``url`` until it answers 200; raise ``failure`` if the server dies or is late."""
    deadline = time.monotonic() + READY_SECONDS
    last = "no answer"
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise failure(f"the server exited with {server.returncode}{tail(server_log)}")
        try:
            answer = httpx.get(url, timeout=2)
        except httpx.TransportError as exc:
            last = repr(exc)
        else:
            if answer.status_code == 200:
                return
            last = f"HTTP {answer.status_code}"
        time.sleep(0.2)
    raise failure(f"{url} not ready after {READY_SECONDS}s ({last}){tail(server_log)}")


def stop(process: subprocess.Popen[Any]) -> int | None:
    """SIGTERM, a bounded wait, then SIGKILL; the exit code, or None if it had to be killed."""
    if process.poll() is not None:
        return process.returncode
    with suppress(ProcessLookupError):
        process.terminate()
    try:
        return process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_SECONDS)
        return None


def tail(path: Path, lines: int = 20) -> str:
    if not path.exists():
        return ""
    last = path.read_text(errors="replace").splitlines()[-lines:]
    return "\n".join(["", f"last lines of {path.name}:", *last])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
