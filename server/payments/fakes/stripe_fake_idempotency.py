"""Idempotency keys exactly as Stripe keeps them (https://docs.stripe.com/api/idempotent_requests).

Stripe saves the status and body of the first request with a key once the endpoint starts
executing, including 500s, and replays them for any retry with the same key and the same
parameters. A retry with different parameters is an ``idempotency_error``; a retry while the
first is still running gets 409 ``idempotency_key_in_use``. Requests that fail validation are
not saved, so they can be corrected and sent again with the same key. Keys belong to one API
key: another account's request with the same key is a different request.

Stripe may prune a key once it is at least 24 hours old; a request with a pruned key is a
new request (https://docs.stripe.com/api/idempotent_requests). The fake prunes exactly at
24 hours, and ``age`` moves every saved key's clock back so tests can get there at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from server.payments.fakes.stripe_fake_forms import StripeFakeError

MAX_KEY_LENGTH = 255
RETENTION_SECONDS = 24 * 60 * 60
"""Stripe keeps a key at least this long, and may forget it any time after."""


@dataclass(frozen=True)
class SavedResponse:
    fingerprint: str
    status: int
    body: bytes
    saved_at: float = 0.0


@dataclass(frozen=True)
class _Running:
    fingerprint: str


class IdempotencyKeys:
    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], SavedResponse | _Running] = {}

    def claim(self, api_key: str, key: str, fingerprint: str) -> SavedResponse | None:
        """The saved answer to replay, or None once this request may run (key now busy)."""
        if len(key) > MAX_KEY_LENGTH:
            raise StripeFakeError(
                400,
                f"Idempotency-Key must be at most {MAX_KEY_LENGTH} characters.",
                code="idempotency_key_too_long",
            )
        self._prune()
        entry = self._entries.get((api_key, key))
        if entry is None:
            self._entries[(api_key, key)] = _Running(fingerprint)
            return None
        if isinstance(entry, _Running):
            raise StripeFakeError(
                409,
                "There is currently another in-progress request using this Idempotent Key "
                "(that probably means you submitted twice, and the other request is still "
                "going through): " + key + ". Please try again later.",
                code="idempotency_key_in_use",
            )
        if entry.fingerprint != fingerprint:
            raise StripeFakeError(
                400,
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request.",
                kind="idempotency_error",
            )
        return entry

    def finish(self, api_key: str, key: str, saved: SavedResponse | None) -> None:
        """Keep ``saved`` for replays, or forget the key (None) so it can be used again."""
        if saved is None:
            self._entries.pop((api_key, key), None)
        else:
            self._entries[(api_key, key)] = replace(saved, saved_at=time.time())

    def age(self, seconds: float) -> int:
        """Make every saved key ``seconds`` older; answers how many keys are left after."""
        for where, entry in list(self._entries.items()):
            if isinstance(entry, SavedResponse):
                self._entries[where] = replace(entry, saved_at=entry.saved_at - seconds)
        self._prune()
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()

    def _prune(self) -> None:
        oldest = time.time() - RETENTION_SECONDS
        for where, entry in list(self._entries.items()):
            if isinstance(entry, SavedResponse) and entry.saved_at <= oldest:
                del self._entries[where]
