"""The fault proxy itself does what each fault says, against a plain echo server."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Iterator

import pytest

from tests.fault_proxy import FaultProxy, fault_proxy

WAIT = 2.0


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(4096):
            self.request.sendall(data)


@pytest.fixture
def proxy() -> Iterator[FaultProxy]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with fault_proxy(server.server_address[1]) as running:
            yield running
    finally:
        server.shutdown()
        server.server_close()


def _connect(proxy: FaultProxy) -> socket.socket:
    return socket.create_connection(("127.0.0.1", proxy.port), timeout=WAIT)


def _echo(sock: socket.socket, payload: bytes = b"ping") -> bytes:
    sock.sendall(payload)
    return sock.recv(4096)


def test_healthy_passes_bytes_both_ways(proxy: FaultProxy) -> None:
    with _connect(proxy) as sock:
        assert _echo(sock) == b"ping"


def test_latency_delays_each_way(proxy: FaultProxy) -> None:
    proxy.latency(0.2)
    with _connect(proxy) as sock:
        started = time.monotonic()
        assert _echo(sock) == b"ping"
        assert time.monotonic() - started >= 0.4  # 0.2 s out and 0.2 s back


def test_blackhole_accepts_and_never_answers(proxy: FaultProxy) -> None:
    with _connect(proxy) as sock:
        assert _echo(sock) == b"ping"
        proxy.blackhole()
        sock.settimeout(0.5)
        with pytest.raises(TimeoutError):
            _echo(sock)
    with _connect(proxy) as fresh:  # new connections are accepted, then nothing
        fresh.settimeout(0.5)
        with pytest.raises(TimeoutError):
            _echo(fresh)
    proxy.healthy()
    with _connect(proxy) as sock:
        assert _echo(sock) == b"ping"


def test_reset_cuts_open_and_new_connections(proxy: FaultProxy) -> None:
    with _connect(proxy) as sock:
        assert _echo(sock) == b"ping"
        proxy.reset()
        with pytest.raises(ConnectionResetError):
            _echo(sock)
    # Reset on connect or on first use, whichever the race gives.
    with pytest.raises((ConnectionResetError, BrokenPipeError)), _connect(proxy) as fresh:
        _echo(fresh)
        _echo(fresh)


def test_down_refuses_then_comes_back_on_the_same_port(proxy: FaultProxy) -> None:
    port = proxy.port
    proxy.down()
    with pytest.raises(ConnectionRefusedError):
        _connect(proxy)
    proxy.healthy()
    assert proxy.port == port
    with _connect(proxy) as sock:
        assert _echo(sock) == b"ping"
