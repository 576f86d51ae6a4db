"""Wrong passwords and PINs slow down the place they come from, never the account everywhere.

NIST SP 800-63B-4 §3.2.2 limits failed attempts per account and suggests, among other ways,
waits that grow after each failure and trusting the places a subscriber has signed in from
before; ASVS 5.0 6.3.1 asks that the limit itself cannot be used to lock a user out. A hard
lock after N failures does neither: anyone who knows an account's name (an e-mail address, an
employee id on a shared iPad) can lock it out from everywhere, and a lock that only real
accounts get tells which accounts are real. So instead:

- **Per account and source, a backoff.** A source is where the attempt comes from: the
  client address for a back-office sign-in, the enrolled iPad for a PIN. Each (account,
  source) pair gets ``free`` consecutive failures, then waits ``first_wait`` seconds before
  its next attempt, then twice that after the next failure, and so on up to ``max_wait``. An
  attempt made during a wait is refused (429 with ``Retry-After``) and not counted, so
  hammering does not push the end of the wait further away. A success clears the pair's
  count. A pair untouched for ``FORGET_AFTER`` starts from zero again.
- **The same for every account name.** Rows are kept for whatever name is presented, real or
  not, so an unknown e-mail address or employee id is throttled exactly like a real one.
- **Counted before the check.** An attempt is counted as a failure when it is admitted and
  the count is cleared if it succeeds, so a parallel burst cannot slip past the count while
  passwords are being hashed: a burst of 100 from one source has exactly ``free`` checked.

The ceiling across all sources (``ratelimit.LOGIN_PER_ACCOUNT``, ``ratelimit.PIN_PER_EMPLOYEE``)
is counted only for attempts this module admits, and for sign-ins only from sources that have
not signed this account in within ``FAMILIAR_FOR``, so spraying from many addresses cannot
lock an owner out of the places they use.

State lives in PostgreSQL (``sign_in_throttle``), so it is shared by every server process and
survives a restart. Each admitted attempt also deletes up to ``_SWEEP`` expired rows, more
than it can create, so the table holds only rows still in use.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from server.auth.tables import RefreshToken
from server.db.engine import DB
from server.errors import RateLimited

FORGET_AFTER: Final = timedelta(days=1)
"""A source's failures are forgotten after this long without another attempt."""

FAMILIAR_FOR: Final = timedelta(days=30)
"""A source that signed an account in within this long is spared the account's ceiling."""

_SWEEP: Final = 100
_MAX_DOUBLINGS: Final = 20


class Kind(StrEnum):
    login = "login"
    pin = "pin"


@dataclass(frozen=True, slots=True)
class Backoff:
    """How long a source waits after ``n`` consecutive failures."""

    kind: Kind
    free: int
    first_wait: int
    max_wait: int

    def wait_after(self, failures: int) -> int:
        """Seconds before the next attempt after ``failures`` consecutive ones."""
        if failures < self.free:
            return 0
        doublings: int = min(failures - self.free, _MAX_DOUBLINGS)
        return min(self.first_wait << doublings, self.max_wait)


LOGIN: Final = Backoff(Kind.login, free=5, first_wait=30, max_wait=900)
"""Back-office sign-in per (e-mail address, client address): five tries for typos, then 30 s,
1, 2, 4, 8 and 15 minutes. One address gets about 14 guesses in its first hour and 4 an hour
after that."""

PIN: Final = Backoff(Kind.pin, free=5, first_wait=30, max_wait=900)
"""PIN per (employee id, iPad): the same schedule. A six-digit PIN is one in a million; one
iPad gets about 14 guesses in its first hour and 4 an hour after that."""


def now() -> datetime:
    """The time the throttle reads (one place to change it)."""
    return datetime.now(UTC)


def login_account(email: str) -> str:
    """The account key of an e-mail address: its digest, never the address itself."""
    return "sha256:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()


def pin_account(restaurant_id: object, employee_id: object) -> str:
    """The account key of an employee id as presented within a restaurant."""
    return f"{restaurant_id}/{employee_id}"


def _source(source: str) -> str:
    return source if len(source) <= 128 else "sha256:" + hashlib.sha256(source.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Admitted:
    """An attempt let through, already counted as a failure until ``succeeded`` is called."""

    familiar: bool
    """This source signed the account in within ``FAMILIAR_FOR``."""


async def admit(backoff: Backoff, *, account: str, source: str) -> Admitted:
    """Count one attempt for ``account`` from ``source``, or refuse it while the source waits.

    Raises:
        RateLimited: the source is waiting; ``retry_after`` is whole seconds until it may try.
    """
    at = now()
    source = _source(source)
    async with DB.transaction():
        row = await _locked_row(backoff, account=account, source=source, at=at)
        if row["next_attempt_at"] > at:
            retry_after = max(1, math.ceil((row["next_attempt_at"] - at).total_seconds()))
            # The same words for every account, real or not; the wait is in Retry-After.
            raise RateLimited(
                "Too many attempts from here; try again after Retry-After seconds",
                retry_after=retry_after,
            )
        stale = row["last_attempt_at"] <= at - FORGET_AFTER
        failures = (0 if stale else row["failures"]) + 1
        wait = timedelta(seconds=backoff.wait_after(failures))
        success = row["last_success_at"]
        familiar = success is not None and success > at - FAMILIAR_FOR
        expires = at + wait + FORGET_AFTER
        if familiar:
            expires = max(expires, success + FAMILIAR_FOR)
        await RefreshToken.raw(
            "UPDATE sign_in_throttle SET failures = {}, next_attempt_at = {},"
            " last_attempt_at = {}, expires_at = {}"
            " WHERE kind = {} AND account = {} AND source = {}",
            failures,
            at + wait,
            at,
            expires,
            backoff.kind.value,
            account,
            source,
        )
    await _sweep(at)
    return Admitted(familiar=familiar)


async def succeeded(backoff: Backoff, *, account: str, source: str) -> None:
    """The admitted attempt was right: clear the count and remember the source as familiar."""
    at = now()
    await RefreshToken.raw(
        "UPDATE sign_in_throttle SET failures = 0, next_attempt_at = {}, last_success_at = {},"
        " expires_at = greatest(expires_at, {})"
        " WHERE kind = {} AND account = {} AND source = {}",
        at,
        at,
        at + FAMILIAR_FOR,
        backoff.kind.value,
        account,
        _source(source),
    )


async def forget(backoff: Backoff, *, account: str) -> None:
    """Drop every source's count for ``account`` (a manager set a new PIN)."""
    await RefreshToken.raw(
        "DELETE FROM sign_in_throttle WHERE kind = {} AND account = {}",
        backoff.kind.value,
        account,
    )


async def waiting(backoff: Backoff, accounts: Iterable[str]) -> set[str]:
    """Which of ``accounts`` have at least one source waiting right now."""
    wanted = list(accounts)
    if not wanted:
        return set()
    rows: list[dict[str, Any]] = await RefreshToken.raw(
        "SELECT DISTINCT account FROM sign_in_throttle"
        " WHERE kind = {} AND account = ANY({}::text[]) AND next_attempt_at > {}",
        backoff.kind.value,
        wanted,
        now(),
    )
    return {row["account"] for row in rows}


async def _sweep(at: datetime) -> None:
    """Delete a few expired rows; rows someone holds are skipped, so this never waits."""
    await RefreshToken.raw(
        "DELETE FROM sign_in_throttle WHERE (kind, account, source) IN ("
        " SELECT kind, account, source FROM sign_in_throttle WHERE expires_at < {}"
        " ORDER BY expires_at LIMIT {} FOR UPDATE SKIP LOCKED)",
        at,
        _SWEEP,
    )


async def add_failures(backoff: Backoff, *, account: str, source: str, failures: int) -> None:
    """Count ``failures`` wrong attempts made where the server could not see them (an iPad
    offline) as if they had just been made: the pair's count goes up by as many and its wait
    is the one that count earns from now, never shorter than a wait already running."""
    at = now()
    source = _source(source)
    async with DB.transaction():
        row = await _locked_row(backoff, account=account, source=source, at=at)
        stale = row["last_attempt_at"] <= at - FORGET_AFTER
        total = (0 if stale else row["failures"]) + failures
        until = max(row["next_attempt_at"], at + timedelta(seconds=backoff.wait_after(total)))
        success = row["last_success_at"]
        expires = until + FORGET_AFTER
        if success is not None and success > at - FAMILIAR_FOR:
            expires = max(expires, success + FAMILIAR_FOR)
        await RefreshToken.raw(
            "UPDATE sign_in_throttle SET failures = {}, next_attempt_at = {},"
            " last_attempt_at = {}, expires_at = {}"
            " WHERE kind = {} AND account = {} AND source = {}",
            total,
            until,
            at,
            expires,
            backoff.kind.value,
            account,
            source,
        )


async def _locked_row(
    backoff: Backoff, *, account: str, source: str, at: datetime
) -> dict[str, Any]:
    """The pair's row, inserted if new, locked until the caller's transaction ends: concurrent
    attempts for one pair take turns here."""
    rows: list[dict[str, Any]] = await RefreshToken.raw(
        "INSERT INTO sign_in_throttle"
        " (kind, account, source, failures, next_attempt_at, last_attempt_at, expires_at)"
        " VALUES ({}, {}, {}, 0, {}, {}, {})"
        " ON CONFLICT (kind, account, source) DO UPDATE SET kind = excluded.kind"
        " RETURNING failures, next_attempt_at, last_attempt_at, last_success_at",
        backoff.kind.value,
        account,
        source,
        at,
        at,
        at,
    )
    return rows[0]
