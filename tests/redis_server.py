"""A throwaway ``redis-server`` on a free loopback port, for tests that need a real Redis.

Nothing persists (``--save ''``, no AOF), the working folder is a temporary one removed at
exit, and every wait is bounded.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_START_SECONDS = 10.0
_STOP_SECONDS = 10.0
_PORT_ATTEMPTS = 3


@dataclass(frozen=True)
class RedisServer:
    port: int
    pid: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    """Start ``redis-server`` on 127.0.0.1, yield it, and stop it and remove its folder."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (scripts/system-packages test)")
    folder = Path(tempfile.mkdtemp(prefix="fynlo-redis-"))
    try:
        # A free port can be taken between probing and binding: try a few.
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            port = _free_port()
            log = folder / f"redis-{port}.log"
            with log.open("wb") as output:
                process = subprocess.Popen(
                    [
                        binary,
                        "--port",
                        str(port),
                        "--bind",
                        "127.0.0.1",
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                        "--daemonize",
                        "no",
                        "--dir",
                        str(folder),
                    ],
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    cwd=folder,
                )
            try:
                if _wait_until_ready(port, process):
                    break
            except BaseException:
                _stop(process)
                raise
            _stop(process)
            if attempt == _PORT_ATTEMPTS:
                raise RuntimeError(f"redis-server did not start:\n{log.read_text()}")
        try:
            yield RedisServer(port=port, pid=process.pid)
        finally:
            _stop(process)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_ready(port: int, process: subprocess.Popen[bytes]) -> bool:
    """True once *our* server answers on ``port``; False if it exits or stays silent too long.

    The answer must name our process: another server that got the port first does not count.
    """
    deadline = time.monotonic() + _START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
                connection.sendall(b"INFO server\r\n")
                reply = b""
                while b"process_id:" not in reply or not reply.endswith(b"\r\n"):
                    chunk = connection.recv(4096)
                    if not chunk:
                        break
                    reply += chunk
                if f"process_id:{process.pid}\r\n".encode() in reply:
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=_STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=_STOP_SECONDS)
