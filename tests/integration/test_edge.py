"""Limits at the edge, against a real ``fynlo serve`` over raw sockets (docs/security.md).

A raw socket says what an HTTP client library would hide: the exact answer, whether the
server closed the connection, and when.
"""

from __future__ import annotations

import json
import select
import signal
import socket
import time
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import httpx
import pytest
from litestar import Litestar

from server.settings import Settings
from tests.e2e.processes import stop
from tests.factories import Tenant, make_ipad
from tests.integration.realtime.conftest import Server, next_message, serve
from tests.integration.realtime.conftest import socket as realtime_socket
from tests.integration.sync.test_push_rules import change, order_fields, prefix_of

HEADER_TIMEOUT = 2.0
KEEP_ALIVE = 1.0
REQUEST_TIMEOUT = 4.0
"""Bounds a slow body: the head timeout ends when the head is in."""
# Generous: the machine is shared, and a deadline is asserted, not a speed.
MARGIN = 3.0


@pytest.fixture(scope="module")
def edge(app: Litestar, settings: Settings) -> Iterator[Server]:
    running = serve(
        settings,
        FYNLO_HEADER_TIMEOUT_SECONDS=str(HEADER_TIMEOUT),
        FYNLO_KEEP_ALIVE_SECONDS=str(KEEP_ALIVE),
        FYNLO_REQUEST_TIMEOUT_SECONDS=str(REQUEST_TIMEOUT),
    )
    yield running
    code, output = stop(running.process, signal.SIGTERM)
    assert code == 0, output


def connect(server: Server) -> socket.socket:
    port = int(server.base.rsplit(":", 1)[1])
    conn = socket.create_connection(("127.0.0.1", port), timeout=HEADER_TIMEOUT + MARGIN)
    return conn


def read_until_closed(conn: socket.socket) -> bytes:
    """Everything the server sends until it closes (the socket's timeout bounds each read)."""
    received = b""
    while chunk := conn.recv(65536):
        received += chunk
    return received


def answer(raw: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return status, {k.lower(): v for k, v in headers.items()}, json.loads(body or b"null")


def head(*extra: str, method: str = "GET", path: str = "/health") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def assert_refused(raw: bytes, status: int, code: str) -> None:
    got, headers, body = answer(raw)
    assert got == status, raw[:300]
    assert headers["content-type"] == "application/problem+json"
    assert headers["connection"] == "close"
    assert body["code"] == code and body["status"] == status, body


def test_a_head_within_the_limits_is_served(edge: Server) -> None:
    with connect(edge) as conn:
        # 100 fields (with Host and Connection), 15 KiB in all: at both limits, served.
        fields = [f"X-Pad-{i}: {'v' * 140}" for i in range(98)]
        conn.sendall(head(*fields, "Connection: close"))
        status, _, body = answer(read_until_closed(conn))
    assert status == 200 and body == {"status": "ok"}


def test_an_oversized_header_answers_431_and_closes(edge: Server) -> None:
    with connect(edge) as conn:
        conn.sendall(head(f"X-Big: {'v' * 17_000}"))  # whole, in one write
        assert_refused(read_until_closed(conn), 431, "headers_too_large")


def test_a_head_that_never_ends_answers_431_while_the_client_is_still_sending(
    edge: Server,
) -> None:
    with connect(edge) as conn:
        conn.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
        for _ in range(8):  # 256 KiB of one header, more than h11 may buffer
            try:
                conn.sendall(b"v" * 32_768)
            except (BrokenPipeError, ConnectionResetError):
                break
        assert_refused(read_until_closed(conn), 431, "headers_too_large")


def test_too_many_headers_answer_431_and_close(edge: Server) -> None:
    with connect(edge) as conn:
        conn.sendall(head(*(f"X-N-{i}: 1" for i in range(100))))  # 101 with Host
        raw = read_until_closed(conn)
    assert_refused(raw, 431, "headers_too_large")
    assert "100 header fields" in answer(raw)[2]["detail"]


def test_a_client_that_stalls_mid_head_is_answered_408_and_closed(edge: Server) -> None:
    with connect(edge) as conn:
        started = time.monotonic()
        conn.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        # Slowloris: a byte every quarter second keeps no timer of ours alive.
        while time.monotonic() < started + HEADER_TIMEOUT + MARGIN:
            if select.select([conn], [], [], 0.25)[0]:
                break  # the server answered, or closed
            conn.sendall(b"x")
        raw = read_until_closed(conn)
        elapsed = time.monotonic() - started
    assert_refused(raw, 408, "request_timeout")
    assert HEADER_TIMEOUT - 0.5 <= elapsed <= HEADER_TIMEOUT + MARGIN, elapsed


def test_a_client_that_trickles_its_body_is_answered_503_at_the_request_deadline(
    edge: Server,
) -> None:
    body = b'{"email": "slow@example.com", "password": "' + b"x" * 200 + b'"}'
    with connect(edge) as conn:
        conn.settimeout(REQUEST_TIMEOUT + MARGIN)
        started = time.monotonic()
        conn.sendall(
            head(
                f"Content-Length: {len(body)}",
                "Content-Type: application/json",
                method="POST",
                path="/api/v1/auth/login",
            )
        )
        for byte in body:  # a byte every quarter second: the body would take 50 s
            if select.select([conn], [], [], 0.25)[0]:
                break  # the server answered
            conn.sendall(bytes([byte]))
        status, headers, problem = answer(_one_response(conn))
        elapsed = time.monotonic() - started
    assert status == 503
    assert problem["code"] == "deadline_exceeded"
    assert int(headers["retry-after"]) > 0
    assert REQUEST_TIMEOUT - 0.5 <= elapsed <= REQUEST_TIMEOUT + MARGIN, elapsed


def test_a_connection_that_sends_nothing_is_closed_after_the_head_timeout(edge: Server) -> None:
    with connect(edge) as conn:
        started = time.monotonic()
        raw = read_until_closed(conn)
        elapsed = time.monotonic() - started
    assert raw == b""  # nothing was asked, so nothing is answered
    assert HEADER_TIMEOUT - 0.5 <= elapsed <= HEADER_TIMEOUT + MARGIN, elapsed


def test_an_idle_keep_alive_connection_is_closed(edge: Server) -> None:
    with connect(edge) as conn:
        for _ in range(3):  # keep-alive works: three requests on one connection
            conn.sendall(head())
            status, _, _ = answer(_one_response(conn))
            assert status == 200
        started = time.monotonic()
        rest = read_until_closed(conn)
        elapsed = time.monotonic() - started
    assert rest == b""
    assert KEEP_ALIVE - 0.5 <= elapsed <= KEEP_ALIVE + MARGIN, elapsed


def _one_response(conn: socket.socket) -> bytes:
    """One small response with a Content-Length, read whole."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += conn.recv(65536)
    head_part, _, body = received.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head_part.split(b"\r\n")
                      if line.lower().startswith(b"content-length")))  # fmt: skip
    while len(body) < length:
        body += conn.recv(65536)
    return received


async def test_deep_json_answers_400_over_the_wire_and_a_normal_push_passes(
    app: Litestar, edge: Server, tenant: Tenant
) -> None:
    ipad = await make_ipad(app, tenant)
    prefix = await prefix_of(ipad)
    normal = change(ipad, 1, "order", uuid4(), order_fields(prefix, 1))
    body = {"batch_id": str(uuid4()), "device_id": str(ipad.device_id), "schema_version": 1,
            "app_version": "1.0.0", "changes": [normal]}  # fmt: skip
    headers = {**ipad.headers, "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=edge.base, timeout=10, trust_env=False) as http:
        pushed = await http.post("/api/v1/sync/push", content=json.dumps(body), headers=headers)
        assert pushed.status_code == 200, pushed.text
        again = json.dumps({**body, "batch_id": str(uuid4())})
        deep = again[:-1] + ', "extra": ' + "[" * 40 + "]" * 40 + "}"  # valid, 41 deep
        refused = await http.post("/api/v1/sync/push", content=deep, headers=headers)
    assert refused.status_code == 400, refused.text
    assert refused.json()["code"] == "nesting_too_deep"
    assert refused.json()["field"] == "body"


async def test_a_websocket_outlives_the_head_timeout(
    app: Litestar, edge: Server, tenant: Tenant
) -> None:
    ipad = await make_ipad(app, tenant)
    async with realtime_socket(edge, ipad.access_token) as ws:
        # The head timer is for heads: once upgraded, only the socket's own rules apply.
        until = time.monotonic() + HEADER_TIMEOUT + 1.5
        while time.monotonic() < until:
            message = await next_message(ws, skip_pings=False)  # raises if it closed
            assert message["type"] == "ping", message  # heartbeats, every second here
            await ws.send(json.dumps({"type": "pong"}))
