"""SIGTERM mid-service (docs/realtime.md, "Stopping a server"; reliability notes F3).

100 requests in flight and 50 sockets open when the signal comes: every request is
answered (200, or 503 ``shutting_down``), never dropped; every socket hears 1001; new
connections are refused; the process exits within FYNLO_SHUTDOWN_GRACE_SECONDS.
"""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import time
from contextlib import AsyncExitStack
from pathlib import Path
from uuid import uuid4

import httpx
from litestar import Litestar

from server.settings import Settings
from server.sync.protocol import MAX_CHANGES_PER_BATCH
from tests.e2e.processes import stop
from tests.factories import Ipad, Tenant, make_ipad
from tests.integration.realtime.conftest import Server, closed_with, serve, socket
from tests.integration.sync.test_push_rules import change, order_fields, prefix_of

GRACE = 10
MARGIN = 5.0  # the interpreter's own exit, on a shared machine
REQUESTS = 100
SOCKETS = 50
LATE = 10


async def test_sigterm_answers_every_request_closes_sockets_1001_and_exits_in_grace(
    app: Litestar, settings: Settings, tenant: Tenant
) -> None:
    server = serve(
        settings,
        FYNLO_SHUTDOWN_GRACE_SECONDS=str(GRACE),
        # One pooled connection: the requests queue for it, so they are still in flight
        # when the signal comes (real work, no test-only slow route).
        FYNLO_DB_POOL_MIN="1",
        FYNLO_DB_POOL_MAX="1",
        FYNLO_REALTIME_HEARTBEAT_SECONDS="60",
    )
    try:
        ipad = await make_ipad(app, tenant)
        async with AsyncExitStack() as stack:
            open_sockets = [
                await stack.enter_async_context(socket(server, ipad.access_token))
                for _ in range(SOCKETS)
            ]
            sent = [await _send_pull(server, ipad) for _ in range(REQUESTS)]
            # Requests on their way: connections the server took whose head (or the end of
            # it) comes only after the signal.
            coming = [await _send_pull(server, ipad, split=at) for at in (0, 20) * (LATE // 2)]
            # ... and on a kept-alive connection, the next request's head begun.
            coming += [await _send_pull(server, ipad, split=20, first_kept=True)]
            await _until_accepted(server)

            signalled = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            codes = await asyncio.gather(*(closed_with(ws) for ws in open_sockets))
            refused = await _connect_refused(server)
            await asyncio.sleep(0.3)  # uvicorn has now told every connection to stop
            for _, writer, rest in coming:
                writer.write(rest)
            answers = await asyncio.gather(*(_answer(reader) for reader, _, _ in sent))
            late = await asyncio.gather(*(_answer(reader) for reader, _, _ in coming))
            exited = await asyncio.to_thread(_exit_time, server.process)
            for _, writer, _ in sent + coming:
                writer.close()
    finally:
        code, output = stop(server.process)

    assert codes == [1001] * SOCKETS
    assert refused, "a new connection was accepted after SIGTERM"
    statuses = [status for status, _ in answers]
    assert all(status in (200, 503) for status in statuses), sorted(set(statuses))
    # Proof that they were in flight: a good part was answered after the signal.
    after = [at for _, at in answers if at > signalled]
    assert len(after) >= REQUESTS // 10, f"only {len(after)} answered after SIGTERM"
    # Answered, not dropped: 503 ``shutting_down`` once the server stopped taking requests.
    assert all(status in (200, 503) for status, _ in late), late
    assert exited - signalled <= GRACE + MARGIN, exited - signalled
    assert code == 0, output


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes]


async def _send_pull(
    server: Server, ipad: Ipad, *, split: int | None = None, first_kept: bool = False
) -> Connection:
    """A real pull on its own connection (the answer is read later): sent whole, or only
    its first ``split`` bytes, the rest returned to send later; ``first_kept``: after
    one whole request kept alive and answered."""
    port = int(server.base.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    def pull(connection: str) -> bytes:
        return (
            "GET /api/v1/sync/pull?schema_version=1&app_version=1.0.0&limit=200 HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {ipad.access_token}\r\n"
            f"Connection: {connection}\r\n\r\n"
        ).encode()

    if first_kept:
        writer.write(pull("keep-alive"))
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        length = re.search(rb"content-length: (\d+)", head, re.IGNORECASE)
        assert length is not None, head
        await reader.readexactly(int(length[1]))
    request = pull("close")
    now, rest = (request, b"") if split is None else (request[:split], request[split:])
    writer.write(now)
    await writer.drain()
    return reader, writer, rest


async def _answer(reader: asyncio.StreamReader) -> tuple[int, float]:
    """The status of the one response on the connection, and when it was complete.

    A connection closed with no response raises here (IndexError or ConnectionResetError):
    a dropped request fails the test."""
    async with asyncio.timeout(GRACE + MARGIN):
        raw = await reader.read()
    return int(raw.split(b"\r\n", 1)[0].split()[1]), time.monotonic()


async def _until_accepted(server: Server) -> None:
    """Until the server has accepted every connection the kernel queued for it.

    A connection still in the listen queue when the listener closes is reset by the kernel
    before the server ever sees it; the test is about requests the server has taken."""
    port = int(server.base.rsplit(":", 1)[1])
    async with asyncio.timeout(10):
        while _listen_queue(port) > 0:  # noqa: ASYNC110 (the kernel's queue sends no event)
            await asyncio.sleep(0.02)


def _listen_queue(port: int) -> int:
    """Connections waiting in the accept queue of the listener on ``port`` (Linux)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state, queues = fields[1], fields[3], fields[4]
        if state == "0A" and int(local.split(":")[1], 16) == port:  # 0A: LISTEN
            return int(queues.split(":")[1], 16)  # rx_queue: the accept backlog
    return 0


async def _connect_refused(server: Server) -> bool:
    port = int(server.base.rsplit(":", 1)[1])
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except ConnectionRefusedError:
        return True
    writer.close()
    return False


def _exit_time(process: subprocess.Popen[str]) -> float:
    process.wait(timeout=GRACE + MARGIN * 2)
    return time.monotonic()


async def test_a_request_still_running_when_the_grace_runs_out_answers_503(
    app: Litestar, settings: Settings, tenant: Tenant
) -> None:
    server = serve(
        settings,
        FYNLO_SHUTDOWN_GRACE_SECONDS="1",
        FYNLO_DB_POOL_MIN="1",
        FYNLO_DB_POOL_MAX="1",
    )
    try:
        # Full batches from several iPads, queued for one pooled connection: far more work
        # than fits in a second (real work, no test-only slow route).
        ipads = [await make_ipad(app, tenant, name=f"Till {i}") for i in range(PUSHES)]
        async with httpx.AsyncClient(base_url=server.base, timeout=30, trust_env=False) as http:
            batches = [await _full_batch(ipad) for ipad in ipads]
            pushes = [asyncio.create_task(_post(http, ipad, body)) for ipad, body in batches]
            await _until_accepted(server)
            await asyncio.sleep(0.2)  # the bodies are in; the pushes queue for the pool
            signalled = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            answers = await asyncio.gather(*pushes)
            exited = await asyncio.to_thread(_exit_time, server.process)
    finally:
        code, output = stop(server.process)

    statuses = sorted(response.status_code for response in answers)
    assert set(statuses) <= {200, 503}, statuses
    cut = [response for response in answers if response.status_code == 503]
    assert cut, f"nothing was still running when the grace ran out: {statuses}"
    for response in cut:
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "shutting_down"
        assert response.headers["retry-after"] == "1"
    assert exited - signalled <= 1 + MARGIN, exited - signalled
    assert code == 0, output


PUSHES = 20


async def _full_batch(ipad: Ipad) -> tuple[Ipad, dict[str, object]]:
    prefix = await prefix_of(ipad)
    changes = [
        ipad.signed(change(ipad, seq, "order", uuid4(), order_fields(prefix, seq)))
        for seq in range(1, MAX_CHANGES_PER_BATCH + 1)
    ]
    body = {"batch_id": str(uuid4()), "device_id": str(ipad.device_id), "schema_version": 1,
            "app_version": "1.0.0", "changes": changes}  # fmt: skip
    return ipad, body


async def _post(http: httpx.AsyncClient, ipad: Ipad, body: dict[str, object]) -> httpx.Response:
    return await http.post("/api/v1/sync/push", json=body, headers=ipad.headers)
