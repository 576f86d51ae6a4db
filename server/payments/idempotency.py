"""``Idempotency-Key`` for every mutating payment endpoint, stored in PostgreSQL.

An iPad may retry a request days later (it was offline, or never saw the answer), so a key
is kept at least ``idempotency_retention_days`` (7 by default; Stripe keeps 24 hours):

- same key, same request: the stored response is replayed, byte for byte. "Same" is what
  the body means, not how it is laid out: the body's canonical JSON (keys sorted, no
  whitespace) is compared, so members in another order are the same request;
- same key, different request (another value, another route): 409 ``idempotency.key_reused``;
- same key while the first request is still working: 409 ``idempotency.in_progress``;
- the first request died between its effect and its answer (a provider that did not reply):
  the next request with that key resumes the work on the same resource, whose provider call
  carries a key derived from our own id, so the provider cannot act twice.

The key row is written in the transaction that writes the effect (``claim`` runs inside it),
and the answer in the transaction that records the outcome (``finish``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

import asyncpg
import msgspec

from server.errors import Conflict, ValidationFailed
from server.settings import IDEMPOTENCY_LEASE_SECONDS, get_settings

KEY_HEADER = "Idempotency-Key"
LEASE = timedelta(seconds=IDEMPOTENCY_LEASE_SECONDS)
"""How long a request may work on a key before another request may take it over."""


class KeyReused(Conflict):
    code = "idempotency.key_reused"
    title = "This Idempotency-Key was used for a different request"


class KeyInProgress(Conflict):
    code = "idempotency.in_progress"
    title = "A request with this Idempotency-Key is still being processed; retry shortly"


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: bytes


@dataclass(frozen=True)
class Claimed:
    """This request owns the key; ``resource_id`` is set when it resumes earlier work."""

    key: str
    resource_id: UUID | None


def check_key(key: str | None) -> str:
    if key is None or not 1 <= len(key) <= 255 or not key.isprintable():
        raise ValidationFailed(
            "send an Idempotency-Key header of 1 to 255 printable characters, unique per"
            " intended operation (a UUID is ideal)",
            field=KEY_HEADER,
        )
    return key


def request_fingerprint(operation: str, body: bytes) -> str:
    """What makes two requests the same: the operation and the body's canonical JSON."""
    return _digest(operation, canonical_json(body))


def canonical_json(body: bytes) -> bytes:
    """The body parsed and written again with its keys sorted and no whitespace, so the same
    JSON in any member order or layout gives the same bytes. A body that is not JSON (an
    empty cancel) is compared as it is."""
    if not body.strip():
        return b""
    try:
        return msgspec.json.encode(msgspec.json.decode(body), order="sorted")
    except (msgspec.DecodeError, msgspec.EncodeError):
        return body


def _legacy_fingerprint(operation: str, body: bytes) -> str:
    """The fingerprint of keys stored before bodies were compared canonically (raw bytes);
    a byte-identical retry of one still replays until it expires."""
    return _digest(operation, body)


def _digest(operation: str, body: bytes) -> str:
    return hashlib.sha256(operation.encode() + b"\0" + body).hexdigest()


async def claim(
    conn: asyncpg.Connection, *, restaurant_id: UUID, key: str, operation: str, body: bytes
) -> Claimed | Replay:
    """Take ``key`` for this request, or say what an earlier request with it answered.

    ``operation`` names what the request does (its method and target); with the body it is
    the request's fingerprint, so the same key sent elsewhere or with another body is a 409.
    """
    fingerprint = request_fingerprint(operation, body)
    retention = timedelta(days=get_settings().idempotency_retention_days)
    inserted = await conn.fetchval(
        "INSERT INTO idempotency_keys (restaurant_id, key, fingerprint, leased_until, expires_at)"
        " VALUES ($1, $2, $3, now() + $4, now() + $5) ON CONFLICT DO NOTHING RETURNING true",
        restaurant_id,
        key,
        fingerprint,
        LEASE,
        retention,
    )
    if inserted:
        return Claimed(key=key, resource_id=None)
    row = await conn.fetchrow(
        "SELECT fingerprint, resource_id, status_code, response, leased_until > now() AS leased"
        " FROM idempotency_keys WHERE restaurant_id = $1 AND key = $2 FOR UPDATE",
        restaurant_id,
        key,
    )
    assert row is not None  # the insert conflicted and keys are only deleted once expired
    if row["fingerprint"] not in (fingerprint, _legacy_fingerprint(operation, body)):
        raise KeyReused(field=KEY_HEADER)
    if row["status_code"] is not None:
        return Replay(status_code=row["status_code"], body=bytes(row["response"]))
    if row["leased"]:
        raise KeyInProgress(field=KEY_HEADER, retry_after_seconds=1)
    await conn.execute(
        "UPDATE idempotency_keys SET leased_until = now() + $3"
        " WHERE restaurant_id = $1 AND key = $2",
        restaurant_id,
        key,
        LEASE,
    )
    return Claimed(key=key, resource_id=row["resource_id"])


async def attach(
    conn: asyncpg.Connection, *, restaurant_id: UUID, key: str, resource: UUID
) -> None:
    """Tie the key to the resource its request created, in the effect's transaction."""
    await conn.execute(
        "UPDATE idempotency_keys SET resource_id = $3 WHERE restaurant_id = $1 AND key = $2",
        restaurant_id,
        key,
        resource,
    )


async def finish(
    conn: asyncpg.Connection, *, restaurant_id: UUID, key: str, status_code: int, body: bytes
) -> None:
    """Store the answer every later request with this key will get."""
    await conn.execute(
        "UPDATE idempotency_keys SET status_code = $3, response = $4, leased_until = NULL"
        " WHERE restaurant_id = $1 AND key = $2",
        restaurant_id,
        key,
        status_code,
        body,
    )


async def release(conn: asyncpg.Connection, *, restaurant_id: UUID, key: str) -> None:
    """Let the next request with this key resume at once (this one could not finish)."""
    await conn.execute(
        "UPDATE idempotency_keys SET leased_until = NULL WHERE restaurant_id = $1 AND key = $2",
        restaurant_id,
        key,
    )


async def working_on(conn: asyncpg.Connection, resource_id: UUID) -> bool:
    """True while a request holds a lease on a key tied to ``resource_id``: it may be
    calling the provider about it right now."""
    busy: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM idempotency_keys WHERE resource_id = $1"
        " AND leased_until > now())",
        resource_id,
    )
    return busy


async def purge_expired(conn: asyncpg.Connection, *, limit: int = 10_000) -> int:
    """Delete keys past their retention, a bounded batch at a time."""
    result: str = await conn.execute(
        "DELETE FROM idempotency_keys WHERE ctid IN (SELECT ctid FROM idempotency_keys"
        " WHERE expires_at < now() LIMIT $1)",
        limit,
    )
    return int(result.split()[-1])
