"""Real servers for real sockets: ``fynlo serve`` processes on the session's database.

WebSockets need the app's lifespan (the channels plugin, the bus) and a real server's close
handshakes, so these tests talk to subprocesses over 127.0.0.1 with the ``websockets``
client. The servers share the test session's signing keys, so tokens minted here work there.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from litestar import Litestar
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from server.settings import Settings
from tests.e2e.processes import free_port, fynlo_env, start, stop, wait_for
from tests.optional import require
from tests.redis_server import redis_server

WAIT_SECONDS = 10.0
SERVER_SETTINGS = {
    "FYNLO_REALTIME_AUTH_SECONDS": "1",
    "FYNLO_REALTIME_HEARTBEAT_SECONDS": "1",
    # Its poller must not settle other tests' payments in the shared database.
    "FYNLO_PAYMENT_POLL_SECONDS": "3600",
}


@dataclass
class Server:
    base: str
    process: subprocess.Popen[str]

    @property
    def ws(self) -> str:
        return self.base.replace("http://", "ws://") + "/api/v1/ws"


def serve(settings: Settings, **extra: str) -> Server:
    port = free_port()
    env = fynlo_env(
        FYNLO_DATABASE_URL=settings.database_url or "",
        FYNLO_DATA_DIR=str(settings.data_dir),
        FYNLO_PORT=str(port),
        **(SERVER_SETTINGS | extra),  # a test may override these
    )
    process = start("serve", env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/ready", process)
    except AssertionError:
        stop(process, signal.SIGKILL)
        raise
    return Server(base, process)


@pytest.fixture(scope="module")
def server(app: Litestar, settings: Settings) -> Iterator[Server]:
    """One server for the module, on the session's (migrated) database."""
    running = serve(settings)
    yield running
    stop(running.process, signal.SIGTERM)


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    require("redis")
    with redis_server() as redis:
        yield redis.url


@asynccontextmanager
async def socket(
    server: Server, token: str | None = None, **auth: Any
) -> AsyncIterator[ClientConnection]:
    """A socket to ``server``, authenticated with ``token`` when given (welcome read)."""
    async with connect(server.ws, open_timeout=WAIT_SECONDS, close_timeout=2) as ws:
        if token is not None:
            await ws.send(json.dumps({"type": "auth", "token": token, **auth}))
            welcome = await next_message(ws)
            assert welcome["type"] == "welcome", welcome
        yield ws


async def next_message(ws: ClientConnection, *, skip_pings: bool = True) -> dict[str, Any]:
    """The next frame as JSON, within WAIT_SECONDS (answering pings so the server hears us)."""
    async with asyncio.timeout(WAIT_SECONDS):
        while True:
            message: dict[str, Any] = json.loads(await ws.recv())
            if message["type"] == "ping" and skip_pings:
                await ws.send(json.dumps({"type": "pong"}))
                continue
            return message


async def next_of(ws: ClientConnection, kind: str) -> dict[str, Any]:
    """The next message of type ``kind``, skipping others, within WAIT_SECONDS."""
    async with asyncio.timeout(WAIT_SECONDS):
        while True:
            message = await next_message(ws)
            if message["type"] == kind:
                return message


async def closed_with(ws: ClientConnection) -> int:
    """The close code the server ended the socket with, within WAIT_SECONDS."""
    async with asyncio.timeout(WAIT_SECONDS):
        try:
            while True:
                await ws.recv()
        except ConnectionClosed as closed:
            assert closed.rcvd is not None, "closed without a close frame"
            return closed.rcvd.code
