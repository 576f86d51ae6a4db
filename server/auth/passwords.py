"""Password and PIN hashing: argon2id at OWASP's minimum, off the event loop, a few at a time.

Parameters (``PARAMETERS``): argon2id with 19 MiB of memory, 2 passes and 1 lane, the
minimum the OWASP Password Storage Cheat Sheet states
(https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html#argon2id).
One hash costs about 30 ms of one core here; ``docs/security.md`` ("Password and PIN
storage") says why these and not argon2-cffi's defaults (64 MiB, 3 passes, 4 lanes: about
400 ms here).

argon2-cffi releases the GIL while it hashes, so a worker thread hashes while the loop goes
on serving everyone else. At most one hash per core runs at once (``HASHING``): a burst of
sign-ins waits its turn in the loop, where waiting costs nothing (and a client that gives up
leaves the queue), instead of starting a hundred threads that would hold 19 MiB each. The
hashing threads run at a lower scheduling priority (``NICENESS``, Linux only): a burst
still uses every idle cycle of every core, but the loop thread and PostgreSQL get a core the
moment they have work, so other requests keep their latency during a burst of sign-ins.

A hash made with older parameters still verifies; ``Checked.upgraded`` then carries the same
secret hashed with today's, for the caller to store once the sign-in has succeeded.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final, TypeVar

from anyio import CapacityLimiter
from argon2 import Parameters, PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

PARAMETERS: Final = Parameters(
    type=Type.ID,
    version=19,
    salt_len=16,
    hash_len=32,
    time_cost=2,
    memory_cost=19_456,  # KiB: 19 MiB
    parallelism=1,
)
"""OWASP's minimum for argon2id: m=19 MiB, t=2, p=1. One lane, because the cores are shared
between sign-ins (one hash per core) rather than spent on one sign-in."""

CORES: Final = len(os.sched_getaffinity(0))

HASHING: Final = CapacityLimiter(CORES)
"""Hashes (and other key derivations) running at once: one per core this process may use."""

NICENESS: Final = 10
"""The hashing threads' nice value: CFS gives a nice-0 thread about ten times their share."""

_threads = ThreadPoolExecutor(max_workers=CORES, thread_name_prefix="argon2")

_hasher = PasswordHasher.from_parameters(PARAMETERS)

# Verified against when the account does not exist, so both answers take the same time.
_DUMMY_HASH = _hasher.hash("not a real password")

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Checked:
    """What checking a secret against a stored hash found."""

    matches: bool
    upgraded: str | None = None
    """The secret hashed with ``PARAMETERS``, when it matched a hash made with older ones."""


async def hash_password(secret: str) -> str:
    """A new argon2id hash of a password or PIN, computed in a worker thread."""
    return await run_bounded(_hasher.hash, secret)


async def verify_password(stored: str | None, secret: str) -> Checked:
    """Check ``secret`` against ``stored``; a missing account still costs one full check."""
    return await run_bounded(_check, stored, secret)


async def run_bounded(work: Callable[..., _T], *args: object) -> _T:
    """Run CPU-heavy ``work`` in a hashing thread once one of ``HASHING``'s slots is free."""
    async with HASHING:
        return await asyncio.get_running_loop().run_in_executor(
            _threads, _at_low_priority, work, *args
        )


def _at_low_priority(work: Callable[..., _T], *args: object) -> _T:
    if sys.platform == "linux":  # per thread on Linux; elsewhere it would renice the process
        thread = threading.get_native_id()
        if os.getpriority(os.PRIO_PROCESS, thread) < NICENESS:
            os.setpriority(os.PRIO_PROCESS, thread, NICENESS)
    return work(*args)


def _check(stored: str | None, secret: str) -> Checked:
    try:
        matches = _hasher.verify(stored or _DUMMY_HASH, secret) and stored is not None
    except (VerificationError, InvalidHashError):
        return Checked(matches=False)
    if matches and stored is not None and _hasher.check_needs_rehash(stored):
        return Checked(matches=True, upgraded=_hasher.hash(secret))
    return Checked(matches=matches)
