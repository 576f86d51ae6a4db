"""Limits at the edge: the request head's size and header count, and slow clients.

uvicorn's h11 protocol, with what it lacks:

- a head larger than ``max_header_bytes`` answers 431 even when it arrives whole (h11 bounds
  only a head still incomplete, and then uvicorn answers a bare 400);
- more than ``max_header_count`` header fields answer 431 (h11 has no count);
- a connection must deliver a complete request head within ``header_timeout_seconds`` of
  opening or of its previous response (h11 in uvicorn waits for ever, so a client sending
  a byte now and then held a connection open: slowloris). A slow *body* is the app's to
  bound: the request deadline (``FYNLO_REQUEST_TIMEOUT_SECONDS``) covers reading it.

And at shutdown (``ClosingServer`` in server/cli/dev.py, docs/realtime.md): a request whose
head arrives after the server stopped taking requests, and one still running when the grace
runs out, answer 503 ``shutting_down`` instead of being dropped or answered a bare 500.

Every refusal is problem+json, says ``Connection: close``, and is followed by a lingering
close: the server stops writing, reads and drops what the client is still sending for a
moment, then closes, so the client reads the answer rather than a reset.
"""

from __future__ import annotations

import asyncio
import http
import json
from typing import Any, ClassVar, cast

import h11
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Message,
    Receive,
    Scope,
    Send,
)
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from server.errors import PROBLEM_MEDIA_TYPE, ClientError, FynloError, problem_body
from server.settings import Settings

# How long a refused client may go on sending before the connection is closed anyway.
LINGER_SECONDS = 2.0
# After SIGTERM, how long a connection that has sent no head yet (or part of one) may take
# to send it, to be answered 503 rather than dropped: a request on its way takes milliseconds.
SHUTDOWN_HEAD_SECONDS = 1.0


class HeadersTooLarge(ClientError):
    status = 431
    code = "headers_too_large"
    title = "The request's headers are too large"


class HeadTimeout(ClientError):
    status = 408
    code = "request_timeout"
    title = "The request's head did not arrive in time"


class ShuttingDown(FynloError):
    status = 503
    code = "shutting_down"
    title = "The server is shutting down"


class _Connection(h11.Connection):
    """h11's server side, refusing a complete head that breaks a limit; remembers why it
    refused, for the answer (uvicorn answers every protocol error with a bare 400)."""

    def __init__(self, limits: Settings) -> None:
        super().__init__(h11.SERVER, max_incomplete_event_size=limits.max_header_bytes)
        self.limits = limits
        self.refusal: FynloError = ClientError("the request is not valid HTTP/1.1")
        self.stopping = False  # the server is shutting down: a head that arrives is refused

    def next_event(self) -> Any:
        try:
            event = super().next_event()
        except h11.RemoteProtocolError as exc:
            if exc.error_status_hint == 431:  # a head still incomplete outgrew the buffer
                self.refusal = _too_large(self.limits)
            raise
        if isinstance(event, h11.Request):
            if self.stopping:
                self.refusal = _shutting_down()
                raise h11.RemoteProtocolError("shutting down", 503)
            if len(event.headers) > self.limits.max_header_count:
                self.refusal = HeadersTooLarge(
                    f"at most {self.limits.max_header_count} header fields", field="headers"
                )
                raise h11.RemoteProtocolError("too many header fields", 431)
            if _head_size(event) > self.limits.max_header_bytes:
                self.refusal = _too_large(self.limits)
                raise h11.RemoteProtocolError("request head too large", 431)
        return event


def _shutting_down() -> ShuttingDown:
    return ShuttingDown("retry: another server will answer", retry_after=1)


def _too_large(limits: Settings) -> HeadersTooLarge:
    return HeadersTooLarge(
        f"the request line and headers may take at most {limits.max_header_bytes} bytes",
        field="headers",
    )


def _head_size(request: h11.Request) -> int:
    """Bytes of the head as sent, give or take the whitespace h11 trimmed."""
    line = len(request.method) + len(request.target) + len(b"  HTTP/1.1\r\n")
    return line + sum(len(name) + len(value) + 4 for name, value in request.headers) + 2


class EdgeProtocol(H11Protocol):
    """``H11Protocol`` with the limits above; ``edge_protocol`` makes one for settings."""

    limits: ClassVar[Settings]

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.edge_conn = _Connection(self.limits)
        self.conn = self.edge_conn
        self.head_timer: asyncio.TimerHandle | None = None
        self.refused = False
        self.answered = False  # has this connection had a response yet

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return  # lingering: the answer is sent, what follows it is dropped
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._cancel_head_timer()  # a whole head arrived (or the connection failed)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def shutdown(self) -> None:
        """uvicorn closes every connection without a request running. One that has sent no
        head yet, or part of one, has a request on its way: it is answered 503 instead of
        dropped, if it comes within SHUTDOWN_HEAD_SECONDS. An idle keep-alive connection is
        closed, as HTTP allows; its client retries on a new one."""
        if self.refused:  # answered already; h11 would send its close now out of turn
            self.transport.close()
            return
        between = self.cycle is None or self.cycle.response_complete  # no request running
        coming = not self.answered or self.conn.trailing_data[0]
        if between and self.conn.their_state is h11.IDLE and coming:
            self.edge_conn.stopping = True
            self._cancel_head_timer()
            self.head_timer = self.loop.call_later(SHUTDOWN_HEAD_SECONDS, self._head_timed_out)
            return
        super().shutdown()

    def on_response_complete(self) -> None:
        self.answered = True
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._await_head()  # the next request's head gets the same time as the first

    def send_400_response(self, msg: str) -> None:
        """Called by uvicorn for any protocol error: answer the one ``_Connection`` saw."""
        self._refuse(self.edge_conn.refusal)

    def _await_head(self) -> None:
        self._cancel_head_timer()
        self.head_timer = self.loop.call_later(
            self.limits.header_timeout_seconds, self._head_timed_out
        )

    def _cancel_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_timed_out(self) -> None:
        self.head_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        if self.conn.trailing_data[0]:  # part of a head came, slowly: say why it ends
            self._refuse(
                _shutting_down()
                if self.edge_conn.stopping
                else HeadTimeout(
                    f"send the request head within {self.limits.header_timeout_seconds} s"
                )
            )
        else:  # an idle connection: closing it is the whole answer
            self.transport.close()

    def _refuse(self, error: FynloError) -> None:
        self._cancel_head_timer()
        self._unset_keepalive_if_required()
        if self.refused or self.transport.is_closing():
            return
        self.refused = True
        headers, body = _problem(error)
        reason = http.HTTPStatus(error.status).phrase
        lines = [f"HTTP/1.1 {error.status} {reason}"] + [f"{k}: {v}" for k, v in headers]
        self.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.flow.resume_reading()
            self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()


def _problem(error: FynloError) -> tuple[list[tuple[str, str]], bytes]:
    """Headers and body of a refusal made outside the app (no route, no request id)."""
    retry_after = error.extra.pop("retry_after", None)
    problem = problem_body(error, instance="", request_id=None)
    del problem["instance"]  # no route was reached
    body = json.dumps(problem).encode()
    headers = [("content-type", PROBLEM_MEDIA_TYPE), ("content-length", str(len(body)))]
    if retry_after is not None:
        headers.append(("retry-after", str(retry_after)))
    return [*headers, ("connection", "close")], body


class AnswerCutRequests:
    """The app, but a request still running when the shutdown grace runs out answers 503
    ``shutting_down`` (uvicorn cancels it, and would answer a bare 500)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.state = getattr(app, "state", None)  # ClosingServer finds the socket hub here

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # type: ignore[comparison-overlap]
            await self.app(scope, receive, send)
            return
        started = False

        async def noting_start(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, noting_start)
        except asyncio.CancelledError:
            # Only uvicorn cancels a request, and only when the grace has run out.
            if started:
                raise  # half an answer cannot be taken back: uvicorn closes the connection
            headers, body = _problem(_shutting_down())
            raw = [(k.encode(), v.encode()) for k, v in headers]
            start: HTTPResponseStartEvent = {
                "type": "http.response.start",
                "status": 503,
                "headers": raw,
            }
            end: HTTPResponseBodyEvent = {
                "type": "http.response.body",
                "body": body,
                "more_body": False,
            }
            await send(start)
            await send(end)


def edge_protocol(settings: Settings) -> type[EdgeProtocol]:
    """The protocol class to pass as uvicorn's ``Config(http=...)``."""
    return cast(
        type[EdgeProtocol],
        type("EdgeProtocol", (EdgeProtocol,), {"limits": settings}),
    )
