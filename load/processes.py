"""Child processes for the benchmarks and the Swift test harness: started, awaited, stopped.

Every wait has a deadline; a child's output goes to a file (never a pipe nobody reads); and
a child dies with its parent even if the parent is killed without cleaning up.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from types import FrameType
from typing import IO, Any

import httpx

BIN = Path(sys.executable).parent
SETUP_SECONDS = 120
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


def fynlo_once(*args: str, env: dict[str, str], failure: type[Exception]) -> str:
    """Run this venv's ``fynlo`` to completion (bounded); its output, or ``failure``."""
    try:
        done = subprocess.run(  # noqa: S603 - this venv's own fynlo, arguments written here
            [str(BIN / "fynlo"), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=SETUP_SECONDS,
            check=False,
            preexec_fn=die_with_parent,
        )
    except subprocess.TimeoutExpired:
        raise failure(f"`fynlo {' '.join(args)}` took over {SETUP_SECONDS}s") from None
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip()
        raise failure(f"`fynlo {' '.join(args)}` exited {done.returncode}:\n{output}")
    return done.stdout


def server_env(
    *, dsn: str, port: int, data_dir: Path, key_file: Path | None = None
) -> dict[str, str]:
    """The environment for a ``fynlo`` child on ``dsn``, serving on ``port``."""
    # The server refuses unknown FYNLO_* names, and the caller's own settings must not leak in.
    env = {k: v for k, v in os.environ.items() if not k.startswith("FYNLO_")}
    env.update(
        FYNLO_DATABASE_URL=dsn,
        FYNLO_PORT=str(port),
        FYNLO_DATA_DIR=str(data_dir),
        FYNLO_LOG_LEVEL="WARNING",
        FYNLO_ENVIRONMENT="development",
    )
    if key_file is not None:
        env["FYNLO_SIGNING_KEY_FILE"] = str(key_file)
    return env


class Terminated(Exception):
    """SIGTERM arrived; unwinding stops everything that was started."""


class BenchBroken(Exception):
    """A benchmark could not produce figures: set-up failed, a server died, a request failed."""


def run_bench(name: str, work: Callable[[], int]) -> int:
    """A benchmark's exit code: ``work``'s own (0 with figures, met or not), 1 when it broke,
    143 on SIGTERM and 130 on Ctrl-C, after everything it started has been stopped."""
    signal.signal(signal.SIGTERM, terminate)
    try:
        return work()
    except BenchBroken as exc:
        print(f"{name} broken: {exc}", file=sys.stderr)
        return 1
    except Terminated:
        print(f"{name} stopped by SIGTERM; everything it started is stopped", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print(f"{name} interrupted; everything it started is stopped", file=sys.stderr)
        return 130


def terminate(signum: int, frame: FrameType | None) -> None:
    """SIGTERM handler: unwind, so that ``finally`` blocks stop what was started."""
    # Only the first SIGTERM interrupts; a second must not cut the cleanup it started short.
    signal.signal(signal.SIGTERM, _ignore)
    raise Terminated


def _ignore(signum: int, frame: FrameType | None) -> None:
    """A Python-level no-op: unlike SIG_IGN, children started now still get the default."""
