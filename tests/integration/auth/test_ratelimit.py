"""Rate limits hold under parallel bursts, across processes, and against spoofed headers (C2).

The limiter tests run once in memory and once on a real Redis. Keys are fresh per test, so
tests sharing the session's Redis never spend each other's budget.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import redis.asyncio
from litestar import Litestar, Request, post

from server.auth.ratelimit import (
    LOGIN_PER_ACCOUNT,
    RULES,
    RateLimiter,
    Rule,
    client_address,
    limiter_from_settings,
)
from server.errors import RateLimited, Unavailable, problem_response
from server.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[3]
TEN_A_MINUTE = Rule("test.burst", "10/minute")
SPOOFED_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")


def new_account() -> str:
    return f"{uuid.uuid4()}@example.com"


async def burst(limiter: RateLimiter, rule: Rule, *key: str, hits: int) -> list[RateLimited]:
    """Fire ``hits`` attempts at once; return the refusals (anything else fails the test)."""
    outcomes = await asyncio.gather(
        *(limiter.hit(rule, *key) for _ in range(hits)), return_exceptions=True
    )
    unexpected = [o for o in outcomes if o is not None and not isinstance(o, RateLimited)]
    assert unexpected == []
    return [o for o in outcomes if isinstance(o, RateLimited)]


@pytest_asyncio.fixture(params=["memory", "redis"])
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[RateLimiter]:
    """A limiter on each backend: in-process memory, and the session's real Redis."""
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    limiter = RateLimiter(url)
    try:
        yield limiter
    finally:
        await limiter.aclose()


async def test_a_parallel_burst_gets_exactly_the_limit(limiter: RateLimiter) -> None:
    refused = await burst(limiter, TEN_A_MINUTE, new_account(), hits=100)

    assert len(refused) == 90
    for error in refused:
        assert (error.status, error.code) == (429, "rate_limited")
        retry_after = error.extra["retry_after"]
        assert isinstance(retry_after, int)
        assert 0 < retry_after <= 60


async def test_accounts_keep_their_own_budgets(limiter: RateLimiter) -> None:
    crowded, quiet = new_account(), new_account()
    assert await burst(limiter, TEN_A_MINUTE, crowded, hits=10) == []
    with pytest.raises(RateLimited):
        await limiter.hit(TEN_A_MINUTE, crowded)

    assert await burst(limiter, TEN_A_MINUTE, quiet, hits=10) == []


async def test_clear_restores_the_budget(limiter: RateLimiter) -> None:
    account = new_account()
    assert len(await burst(limiter, TEN_A_MINUTE, account, hits=15)) == 5

    await limiter.clear(TEN_A_MINUTE, account)

    assert len(await burst(limiter, TEN_A_MINUTE, account, hits=15)) == 5


async def test_login_counts_an_address_in_any_case_as_one_account(limiter: RateLimiter) -> None:
    account = new_account()
    spellings = [account.upper(), f" {account} ", account.capitalize()]
    for attempt in range(100):
        await limiter.hit(LOGIN_PER_ACCOUNT, spellings[attempt % len(spellings)])

    with pytest.raises(RateLimited):
        await limiter.hit(LOGIN_PER_ACCOUNT, account)


async def test_key_parts_cannot_run_into_each_other(limiter: RateLimiter) -> None:
    prefix = uuid.uuid4().hex
    assert await burst(limiter, TEN_A_MINUTE, f"{prefix}/a", "b", hits=10) == []

    assert await burst(limiter, TEN_A_MINUTE, prefix, "a/b", hits=10) == []


async def test_two_limiters_on_one_redis_share_one_budget(redis_url: str) -> None:
    first, second = RateLimiter(redis_url), RateLimiter(redis_url)
    account = new_account()
    try:
        outcomes = await asyncio.gather(
            *((first if i % 2 else second).hit(TEN_A_MINUTE, account) for i in range(100)),
            return_exceptions=True,
        )
    finally:
        await first.aclose()
        await second.aclose()

    assert outcomes.count(None) == 10
    assert sum(isinstance(o, RateLimited) for o in outcomes) == 90


# Each child builds its own limiter, reports "ready", waits for "go", fires its hits at once
# and prints how many were allowed.
CHILD = """
import asyncio, sys
from server.auth.ratelimit import RateLimiter, Rule
from server.errors import RateLimited

async def main(url, account, hits):
    limiter = RateLimiter(url)
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    rule = Rule("test.burst", "10/minute")
    outcomes = await asyncio.gather(
        *(limiter.hit(rule, account) for _ in range(hits)), return_exceptions=True
    )
    await limiter.aclose()
    allowed = outcomes.count(None)
    assert allowed + sum(isinstance(o, RateLimited) for o in outcomes) == hits, outcomes
    print(allowed, flush=True)

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""


async def test_two_server_processes_share_one_budget(redis_url: str) -> None:
    account = new_account()
    children = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", CHILD, redis_url, account, "50",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=REPO_ROOT,
        )
        for _ in range(2)
    ]  # fmt: skip
    try:
        for child in children:
            assert child.stdout is not None
            assert await asyncio.wait_for(child.stdout.readline(), 30) == b"ready\n"
        for child in children:
            assert child.stdin is not None
            child.stdin.write(b"go\n")
            await child.stdin.drain()
        results = await asyncio.wait_for(
            asyncio.gather(*(child.communicate() for child in children)), 60
        )
    finally:
        for child in children:
            if child.returncode is None:
                child.kill()
                await child.wait()

    for child, (_, stderr) in zip(children, results, strict=True):
        assert child.returncode == 0, stderr.decode()
    assert sum(int(stdout) for stdout, _ in results) == 10


async def test_redis_keys_are_namespaced_by_rule_and_account(redis_url: str) -> None:
    limiter, account = RateLimiter(redis_url), new_account()
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        await limiter.hit(TEN_A_MINUTE, account)
        keys = await client.keys(f"fynlo:rl:test.burst/{account}/*")
    finally:
        await limiter.aclose()
        await client.aclose()

    assert keys == [f"fynlo:rl:test.burst/{account}/10/1/minute".encode()]


async def test_an_unreachable_redis_fails_closed() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    limiter = RateLimiter(f"redis://127.0.0.1:{closed_port}/0")
    try:
        with pytest.raises(Unavailable):
            await asyncio.wait_for(limiter.hit(TEN_A_MINUTE, new_account()), 10)
    finally:
        await limiter.aclose()


async def test_limiter_from_settings_picks_the_backend(redis_url: str) -> None:
    for settings in (Settings(), Settings(redis_url=redis_url)):
        limiter = limiter_from_settings(settings)
        try:
            assert await burst(limiter, TEN_A_MINUTE, new_account(), hits=11) != []
        finally:
            await limiter.aclose()


def test_every_rule_has_a_distinct_name() -> None:
    assert len({rule.name for rule in RULES}) == len(RULES)
    assert [rule.item.amount for rule in RULES] == [100, 50, 100, 300, 30, 20]


def scope(client: tuple[str, int] | None, **headers: str) -> dict[str, Any]:
    return {
        "type": "http",
        "client": client,
        "headers": [(name.encode(), value.encode()) for name, value in headers.items()],
    }


def test_client_address_is_the_socket_peer_whatever_the_headers_say() -> None:
    spoofed = scope(
        ("10.1.2.3", 50123),
        **{"x-forwarded-for": "203.0.113.9", "forwarded": "for=198.51.100.7"},
        **{"x-real-ip": "192.0.2.1"},
    )

    assert client_address(spoofed) == "10.1.2.3"


@pytest.mark.parametrize(
    ("peer", "address"),
    [
        pytest.param("::ffff:203.0.113.9", "203.0.113.9", id="ipv4-mapped"),
        pytest.param("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64", id="ipv6-is-its-64"),
        pytest.param("2001:db8:1:2:bbbb::2", "2001:db8:1:2::/64", id="same-64-same-client"),
        pytest.param("testclient", "testclient", id="not-an-ip"),
    ],
)
def test_client_address_normalises_the_peer(peer: str, address: str) -> None:
    assert client_address(scope((peer, 443))) == address


def test_client_address_without_a_peer_is_unknown() -> None:
    assert client_address(scope(None, **{"x-forwarded-for": "203.0.113.9"})) == "unknown"


async def test_rotating_forwarding_headers_do_not_reset_the_count() -> None:
    limiter = RateLimiter()

    @post("/login", status_code=204)
    async def login(request: Request[Any, Any, Any]) -> None:
        await limiter.hit(TEN_A_MINUTE, client_address(request))

    app = Litestar([login], exception_handlers={Exception: problem_response})
    transport = httpx.ASGITransport(app=app, client=("198.51.100.20", 4321))
    async with httpx.AsyncClient(transport=transport, base_url="http://fynlo.test") as http:
        responses = [
            await http.post("/login", headers={name: f"203.0.113.{i}" for name in SPOOFED_HEADERS})
            for i in range(15)
        ]
    await limiter.aclose()

    assert [r.status_code for r in responses] == [204] * 10 + [429] * 5
    refused = responses[-1]
    assert refused.json()["code"] == "rate_limited"
    assert 0 < int(refused.headers["retry-after"]) <= 60
