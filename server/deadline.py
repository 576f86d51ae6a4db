"""Every HTTP request ends by ``FYNLO_REQUEST_TIMEOUT_SECONDS``, whatever its dependencies do.

The database's own timeouts (``server/db/engine.py``) bound each wait on it, but a request
makes many: under a second of latency per round trip a write took 26 s. The deadline bounds
the sum. When it passes, the request's task is cancelled and the client is answered at once
with 503 ``deadline_exceeded`` and ``Retry-After``; the cancelled task unwinds on its own.

Cancelling is safe: a transaction cancelled before its ``COMMIT`` rolls back (asyncpg and
Piccolo roll back on the way out, and PostgreSQL's ``idle_in_transaction_session_timeout``
ends one whose link is dead), so a request cut short writes nothing or, if the ``COMMIT`` was
already on its way, everything: never half. That last case is the one any timeout has (the
answer is lost, not the write), and retries make it safe: a sync push is applied once per
device sequence number, a payment once per ``Idempotency-Key``.

WebSockets are long-lived by design and are not bounded here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from server.errors import RETRY_AFTER_SECONDS, DeadlineExceeded, send_problem

log = logging.getLogger("fynlo.deadline")

T = TypeVar("T")

# Tasks cut off by a deadline and still unwinding (a rollback on a slow link): kept here so
# they are not garbage-collected mid-way, and their outcome is read so nothing is logged as
# "never retrieved".
_unwinding: set[asyncio.Task[Any]] = set()


class DeadlinePassed(TimeoutError):
    """Raised by ``within``; a TimeoutError from inside the work passes through as itself."""


async def within(seconds: float, work: Awaitable[T]) -> T:
    """``await work``, or raise ``DeadlinePassed`` once ``seconds`` have passed *without* waiting
    for ``work`` to finish unwinding (``asyncio.timeout`` would wait, and a rollback on a dead
    link waits for its own timeout)."""
    task = asyncio.ensure_future(work)
    try:
        done, _ = await asyncio.wait({task}, timeout=seconds)
    except asyncio.CancelledError:
        task.cancel()  # whoever cancelled us meant the work too
        raise
    if task in done:
        return task.result()
    task.cancel()
    _unwinding.add(task)
    task.add_done_callback(_forget)
    raise DeadlinePassed(f"not done within {seconds:g} s")


def _forget(task: asyncio.Task[Any]) -> None:
    _unwinding.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.debug("a request cut by its deadline ended with %r", task.exception())


class DeadlineMiddleware:
    """Bounds each HTTP request by ``seconds`` (``FYNLO_REQUEST_TIMEOUT_SECONDS``)."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # type: ignore[comparison-overlap]
            await self.app(scope, receive, send)
            return
        started = False
        cut = False

        async def send_in_time(message: Message) -> None:
            nonlocal started
            if cut:
                return  # the deadline answered for this request already
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await within(self.seconds, self.app(scope, receive, send_in_time))
            return
        except DeadlinePassed:
            cut = True
        where = {"path": scope["path"], "method": scope.get("method")}
        if started:
            # Part of the answer is out: all that is left is to cut the connection.
            log.warning("request deadline passed mid-response; connection cut", extra=where)
            raise DeadlineExceeded("the response could not be finished in time")
        error = DeadlineExceeded(
            f"the request did not finish within {self.seconds:g} s",
            retry_after_seconds=RETRY_AFTER_SECONDS,
        )
        await send_problem(scope, receive, send, error)
