"""Password and PIN hashing with argon2id (argon2-cffi's defaults, RFC 9106's second choice).

One hash costs about a quarter of a second of CPU and 64 MiB, on purpose. It runs in a
worker thread so the event loop keeps serving everyone else meanwhile, and at most
``_PARALLEL_HASHES`` run at once so a burst of sign-ins cannot exhaust memory.
"""

from __future__ import annotations

import asyncio
import os

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
_PARALLEL_HASHES = max(1, os.cpu_count() or 1)
_slots = asyncio.Semaphore(_PARALLEL_HASHES)

# Verified against when the account does not exist, so both answers take the same time.
_DUMMY_HASH = _hasher.hash("not a real password")


async def hash_password(password: str) -> str:
    async with _slots:
        return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """True if ``password`` matches; a missing account still costs one full verification."""
    async with _slots:
        return await asyncio.to_thread(_verify, password_hash, password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
