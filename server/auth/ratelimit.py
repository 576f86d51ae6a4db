"""Rate limits on the ways in: login, PIN, token refresh and device enrolment.

Each limit is a ``Rule`` counted per account and per device or client address, never per
address alone, so two restaurants behind one router do not spend each other's budget
(reliability notes, lesson 11 and check C2).

Strategy: a moving window (the ``limits`` library's ``MovingWindowRateLimiter``). It keeps
one timestamp per allowed attempt and admits a new one only while fewer than ``amount`` fall
inside the last window, so "100 an hour" holds for *every* hour, including one that straddles
a boundary; a fixed window can let twice the limit through at the boundary, which would break
ASVS 4.0.3 V2.2.1's "no more than 100 failed attempts per hour". The cost is one timestamp per
allowed attempt, at most ``amount`` (300 here) per key. Refused attempts are not recorded, so
hammering a locked key does not push its reset further away.

Atomicity: with Redis the check and the insert run in one Lua script
(``acquire_moving_window.lua``: ``LINDEX`` the n-th newest entry, then ``LPUSH``, ``LTRIM``,
``EXPIRE``), and Redis runs a script alone, so a burst from many processes cannot overshoot.
In memory the same check and insert run under one ``asyncio.Lock`` per key. An attempt is
counted *before* the password or PIN is checked: counting only failures would need a check
and a later write, and a parallel burst would slip between the two.

Sharing: with ``FYNLO_REDIS_URL`` every server process counts in the same Redis keys
(``fynlo:rl:<rule>/<part>/.../<amount>/<multiples>/<unit>``); without it each process counts
alone in memory, which is right for one process only.

If Redis cannot be reached the limiter fails closed: ``hit`` raises ``DependencyUnavailable``
(503, ``dependency: "redis"``) rather than letting unmetered guesses through (reliability
notes, F4).

The client address is the socket peer from the ASGI scope. ``X-Forwarded-For``, ``Forwarded``
and ``X-Real-IP`` are never read: the client writes them. Behind a reverse proxy, let uvicorn
rewrite the peer for trusted proxies only (uvicorn's ``FORWARDED_ALLOW_IPS``; docs/operations.md).
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

import redis.asyncio
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from server.errors import RETRY_AFTER_SECONDS, DependencyUnavailable, RateLimited

if TYPE_CHECKING:
    from litestar.connection import ASGIConnection

    from server.settings import Settings

KEY_PREFIX: Final = "fynlo:rl"
UNKNOWN_CLIENT: Final = "unknown"

_REDIS_MAX_CONNECTIONS: Final = 32
# Longer key parts (a 10 kB "e-mail") are stored as a digest so keys stay small.
_MAX_PART_LENGTH: Final = 256
# An IPv6 subscriber usually holds a whole /64 (RFC 6177), so one /64 is one client.
_IPV6_CLIENT_PREFIX: Final = 64
# redis-py URL schemes and the ``limits`` storage schemes that name the same server.
_STORAGE_SCHEMES: Final = {
    "redis": "async+redis",
    "rediss": "async+rediss",
    "unix": "async+redis+unix",
}


@dataclass(frozen=True, slots=True)
class Rule:
    """One limit: ``limit`` in the ``limits`` notation, e.g. ``"10/15 minutes"``."""

    name: str
    limit: str
    casefold: bool = False
    """Trim and lower-case the key parts first, as the login matches e-mail addresses."""
    item: RateLimitItem = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parsed = parse(self.limit)
        item = type(parsed)(parsed.amount, parsed.multiples, namespace=self.name)
        object.__setattr__(self, "item", item)


LOGIN_PER_ACCOUNT: Final = Rule("login.account", "100/hour", casefold=True)
"""Logins per e-mail address from sources that have not signed it in lately: ASVS 4.0.3
V2.2.1's ceiling of 100 an hour, against guessers spread over many addresses. Each address
is held back on its own first (``throttle.LOGIN``), and the addresses the account signs in
from are spared this ceiling, so spending it locks out only new places, never the owner's
usual ones (``throttle.FAMILIAR_FOR``)."""

LOGIN_PER_CLIENT: Final = Rule("login.client", "50/15 minutes")
"""Logins per client address, against one guesser spraying many accounts. Five times the
per-account budget so a busy office behind one router (several managers, several
restaurants in one food hall) does not run out."""

PIN_PER_EMPLOYEE: Final = Rule("pin.employee", "100/hour")
"""PIN attempts per employee id: ASVS 4.0.3 V2.2.1's hard ceiling of 100 an hour. Counts every
attempt the iPad's own backoff lets through (``throttle.PIN``), so it also bounds honest use:
a shared iPad asking again after 2 idle minutes needs at most 30 an hour. With each iPad held
to about 14 guesses in an hour, spending it takes seven or more of the restaurant's iPads."""

PIN_PER_DEVICE: Final = Rule("pin.device", "300/hour")
"""PIN attempts per device, against one iPad cycling through employees: ten staff at the
idle-lock's 30 an hour each."""

REFRESH_PER_FAMILY: Final = Rule("refresh.family", "30/minute")
"""Token refreshes per refresh-token family (one per device). A device refreshes once per
access token (15 minutes); 30 a minute leaves room for an offline iPad's retries and stops a
looping client or a replayed token from hammering the database."""

ENROL_PER_CLIENT: Final = Rule("enrol.client", "20/hour")
"""Device enrolments per client address. Enrolment happens once per iPad; 20 lets a new site
set up its whole fleet in one sitting and keeps guessing at enrolment codes slow."""

RULES: Final = (
    LOGIN_PER_ACCOUNT,
    LOGIN_PER_CLIENT,
    PIN_PER_EMPLOYEE,
    PIN_PER_DEVICE,
    REFRESH_PER_FAMILY,
    ENROL_PER_CLIENT,
)


class RateLimiter:
    """Counts attempts per rule and key; one per process, shared through Redis when given."""

    def __init__(self, redis_url: str | None = None, *, timeout: float = 2.0) -> None:
        """Count in Redis at ``redis_url`` (``redis://``, ``rediss://``, ``unix://``), or in
        this process's memory when it is ``None``.

        A hung Redis must not hang a sign-in: each count, from waiting for a connection to
        the last answer, gives up after ``timeout`` seconds, and then the limiter fails closed.
        """
        self._timeout = timeout
        self._pool: redis.asyncio.ConnectionPool | None = None
        storage: Storage
        if redis_url is None:
            storage = MemoryStorage(wrap_exceptions=True)
        else:
            scheme, _, rest = redis_url.partition("://")
            if scheme not in _STORAGE_SCHEMES:
                raise ValueError("FYNLO_REDIS_URL must be a redis://, rediss:// or unix:// URL")
            self._pool = redis.asyncio.BlockingConnectionPool.from_url(
                redis_url,
                max_connections=_REDIS_MAX_CONNECTIONS,
                timeout=timeout,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
            )
            # ``limits`` documents ``connection_pool`` but types its options as scalars.
            storage = RedisStorage(
                f"{_STORAGE_SCHEMES[scheme]}://{rest}",
                implementation="redispy",
                key_prefix=KEY_PREFIX,
                wrap_exceptions=True,
                connection_pool=self._pool,  # type: ignore[arg-type]
            )
        self._strategy = MovingWindowRateLimiter(storage)

    async def hit(self, rule: Rule, *key_parts: str) -> None:
        """Count one attempt against ``rule`` for ``key_parts``.

        Raises:
            RateLimited: the window is full; ``retry_after`` is whole seconds until a slot frees.
            DependencyUnavailable: the shared store (Redis) cannot be reached (fail closed).
        """
        parts = _key_parts(rule, key_parts)
        try:
            async with asyncio.timeout(self._timeout):
                if await self._strategy.hit(rule.item, *parts):
                    return
                stats = await self._strategy.get_window_stats(rule.item, *parts)
        except (StorageError, TimeoutError) as exc:
            raise _store_unreachable() from exc
        # The oldest attempt in the window leaves it at ``reset_time``; at least one second.
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimited(
            f"Too many attempts; try again in {retry_after} seconds", retry_after=retry_after
        )

    async def clear(self, rule: Rule, *key_parts: str) -> None:
        """Forget every attempt counted for ``key_parts`` (a manager's reset)."""
        try:
            async with asyncio.timeout(self._timeout):
                await self._strategy.clear(rule.item, *_key_parts(rule, key_parts))
        except (StorageError, TimeoutError) as exc:
            raise _store_unreachable() from exc

    async def aclose(self) -> None:
        """Close the connections to Redis, if any; call once at shutdown."""
        if self._pool is not None:
            await self._pool.disconnect()


def limiter_from_settings(settings: Settings) -> RateLimiter:
    """The process's limiter: shared through ``settings.redis_url`` when it is set."""
    return RateLimiter(settings.redis_url, timeout=settings.redis_timeout_seconds)


def client_address(source: Mapping[str, Any] | ASGIConnection[Any, Any, Any, Any]) -> str:
    """The socket peer of a request or its ASGI scope; forwarding headers are ignored.

    IPv4-mapped IPv6 peers read as IPv4, and other IPv6 peers as their /64 network, so
    walking through one's own block of addresses does not reset a count.
    """
    scope: Mapping[str, Any] = source if isinstance(source, Mapping) else source.scope
    peer = scope.get("client")
    if not peer:
        return UNKNOWN_CLIENT
    host = str(peer[0])
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host  # not an IP (a unix socket path, a test client's name): use it as is
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, _IPV6_CLIENT_PREFIX), strict=False))
    return str(address)


def _key_parts(rule: Rule, key_parts: tuple[str, ...]) -> list[str]:
    if not key_parts:
        raise ValueError(f"rule {rule.name} needs at least one key part")
    return [_key_part(part.strip().lower() if rule.casefold else part) for part in key_parts]


def _key_part(part: str) -> str:
    # ``limits`` joins parts with "/": escape it so ("a/b", "c") and ("a", "b/c") differ.
    if len(part) > _MAX_PART_LENGTH:
        return "sha256-" + hashlib.sha256(part.encode()).hexdigest()
    return quote(part, safe="@+:")


def _store_unreachable() -> DependencyUnavailable:
    return DependencyUnavailable(
        "The rate limit store cannot be reached",
        dependency="redis",
        retry_after_seconds=RETRY_AFTER_SECONDS,
    )
