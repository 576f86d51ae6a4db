"""The request deadline (``server/deadline.py``) on a small in-process app."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from litestar import Litestar, get
from litestar.exceptions import LitestarException
from litestar.middleware import DefineMiddleware
from litestar.response import Stream

from server.deadline import DeadlineMiddleware, within
from server.errors import RETRY_AFTER_SECONDS, DeadlineExceeded, problem_response

DEADLINE = 0.3
MARGIN = 5.0  # generous: a deadline is behaviour, a busy machine is not a failure
unwound: list[str] = []


@get("/quick", sync_to_thread=False)
def quick() -> dict[str, str]:
    return {"ok": "yes"}


@get("/stuck")
async def stuck() -> None:
    await asyncio.sleep(60)


@get("/slow-to-unwind")
async def slow_to_unwind() -> None:
    """Like a rollback on a dead link: cancelled, it takes a while to let go."""
    try:
        await asyncio.sleep(60)
    finally:
        await asyncio.shield(asyncio.sleep(2))
        unwound.append("slow-to-unwind")


@get("/half-sent")
async def half_sent() -> Stream:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"first part"
        await asyncio.sleep(60)
        yield b"never"

    return Stream(chunks())


def make_app() -> Litestar:
    return Litestar(
        route_handlers=[quick, stuck, slow_to_unwind, half_sent],
        middleware=[DefineMiddleware(DeadlineMiddleware, seconds=DEADLINE)],
        exception_handlers={Exception: problem_response},
    )


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=make_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=60) as c:
        yield c


async def test_a_request_in_time_is_untouched(http: httpx.AsyncClient) -> None:
    response = await http.get("/quick")
    assert response.status_code == 200 and response.json() == {"ok": "yes"}


async def test_a_request_past_its_deadline_is_503_deadline_exceeded(
    http: httpx.AsyncClient,
) -> None:
    started = time.monotonic()
    response = await http.get("/stuck")
    assert time.monotonic() - started < DEADLINE + MARGIN
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
    assert response.json()["code"] == "deadline_exceeded"


async def test_the_answer_does_not_wait_for_the_request_to_unwind(
    http: httpx.AsyncClient,
) -> None:
    unwound.clear()
    response = await http.get("/slow-to-unwind")
    assert response.json()["code"] == "deadline_exceeded"
    assert unwound == []  # answered while the cancelled handler was still letting go
    for _ in range(100):  # it does finish, in the background (bounded: 10 s)
        if unwound:
            break
        await asyncio.sleep(0.1)
    assert unwound == ["slow-to-unwind"]


async def test_a_response_already_begun_is_cut_not_answered_twice(
    http: httpx.AsyncClient,
) -> None:
    # The app raises past the first bytes, so the server drops the connection.
    with pytest.raises(LitestarException, match="after response started") as raised:
        async with http.stream("GET", "/half-sent") as response:
            assert response.status_code == 200
            await response.aread()
    assert isinstance(raised.value.__cause__, DeadlineExceeded)


async def test_cancelling_the_wait_cancels_the_work() -> None:
    work = asyncio.ensure_future(asyncio.sleep(60))
    waiting = asyncio.ensure_future(within(30, work))
    await asyncio.sleep(0.05)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await asyncio.wait({work}, timeout=5)
    assert work.cancelled()
