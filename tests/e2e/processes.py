"""Start ``fynlo`` commands as real processes and wait on them, always with a deadline."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

FYNLO = str(Path(sys.executable).parent / "fynlo")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def fynlo_env(**overrides: str) -> dict[str, str]:
    """The test process's environment without its database, plus ``overrides``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FYNLO_")}
    env.update(FYNLO_ENVIRONMENT="development", FYNLO_LOG_LEVEL="WARNING", **overrides)
    return env


def start(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [FYNLO, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for(url: str, process: subprocess.Popen[str], *, seconds: float = 60) -> httpx.Response:
    """Poll ``url`` until it answers 200, failing early if the process dies."""
    deadline = time.monotonic() + seconds
    last: Exception | httpx.Response | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise AssertionError(f"process exited with {process.returncode}:\n{output}")
        try:
            last = httpx.get(url, timeout=2)
            if last.status_code == 200:
                return last
        except httpx.TransportError as exc:
            last = exc
        time.sleep(0.2)
    raise AssertionError(f"{url} not ready after {seconds}s: {last!r}")


def stop(process: subprocess.Popen[str], sig: int = signal.SIGTERM) -> tuple[int, str]:
    """Send ``sig`` and wait (bounded) for the exit code and everything it printed."""
    process.send_signal(sig)
    try:
        output, _ = process.communicate(timeout=45)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate(timeout=10)
        raise AssertionError(f"process ignored {sig!r}:\n{output}") from None
    return process.returncode, output


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie awaiting its reaper still answers kill(0); its /proc status says Z.
    status = Path(f"/proc/{pid}/status")
    try:
        return "\nState:\tZ" not in status.read_text()
    except FileNotFoundError:
        return False


def wait_gone(pid: int, *, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.1)
    return False
