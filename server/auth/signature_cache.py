"""Tokens whose signature this process has already checked, so a token sent with every
request costs one ES256 verification, not one per request.

Only the signature is remembered, never the verdict: the caller still checks ``typ`` and
every time-bound claim (``exp``, ``nbf``) on each use, and the database checks that the user
or device is still active. An entry counts only while the key that verified it is still a
verifying key for its ``kid`` (the very object: a key-file reload, a retired or removed key
all make the next use verify again from scratch). Entries are tokens we signed, so nobody
can fill the cache with forgeries; it is bounded anyway, oldest first out.
"""

from __future__ import annotations

from typing import Any

from joserfc.jwk import ECKey

MAX_ENTRIES = 4096


class Verified:
    __slots__ = ("claims", "header", "key")

    def __init__(self, header: dict[str, Any], claims: dict[str, Any], key: ECKey) -> None:
        self.header = header
        self.claims = claims
        self.key = key


_verified: dict[str, Verified] = {}


def lookup(token: str) -> Verified | None:
    return _verified.get(token)


def remember(token: str, entry: Verified) -> None:
    if len(_verified) >= MAX_ENTRIES:
        del _verified[next(iter(_verified))]
    _verified[token] = entry


def forget_all() -> None:
    _verified.clear()
