"""Serve a fake provider on 127.0.0.1 in a background thread (for `make run` and tests)."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import uvicorn

START_SECONDS = 10


@dataclass
class RunningFake:
    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=START_SECONDS)


def serve_in_thread(app: Any, *, port: int = 0, name: str = "fake") -> RunningFake:
    """Start ``app`` on 127.0.0.1 (``port`` 0 picks a free one) and return once it accepts."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", port))
    config = uvicorn.Config(app, log_config=None, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_SECONDS
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            raise RuntimeError(f"{name} did not start on 127.0.0.1:{port}")
        time.sleep(0.01)
    host, bound = sock.getsockname()
    return RunningFake(url=f"http://{host}:{bound}", server=server, thread=thread)
