"""The server's JWT signing keys, and how they rotate without failing a single token.

The key file is a private JWKS (RFC 7517), mode 0600, only ever replaced whole (temp file,
then rename). Each key carries a ``fynlo`` member with its state, which other JWKS readers
ignore (RFC 7517 §4) and which is stripped before joserfc, or anyone, sees the key:

- ``next`` verifies and is published but signs nothing, so every process and every client
  caching our JWKS knows it before its first token (Auth0 "Rotate signing keys").
- ``current`` signs and verifies; exactly one.
- ``retiring`` verifies until ``retire_after``: when it stopped signing plus the longest
  lifetime of any token it may have signed (an iPad's 90-day refresh token) plus leeway.
  So a routine rotation signs nobody out; only ``fynlo keys retire --force``, for a leaked
  key, kills its tokens early (users sign in again, iPads are enrolled again).

Each process re-reads the file when a ``stat`` (at most every ``RELOAD_INTERVAL_SECONDS``)
shows it changed, so a promoted key signs everywhere without a restart. An unknown ``kid``
re-reads at once if the file changed, otherwise at most once per interval: a flood of
made-up kids never causes a reload storm, and a ``kid`` still unknown is a 401.
The full story is in docs/security.md, "Rotating signing keys".
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import msgspec
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import ECKey, GuestProtocol

from server.errors import Conflict, ServerError

# Only one algorithm is ever accepted, so no token can pick a weaker one (RFC 8725 §3.1).
ALGORITHM = "ES256"
CURVE = "P-256"
# How stale a process's view of the key file may get, and how often an unknown kid may
# re-read an unchanged file.
RELOAD_INTERVAL_SECONDS = 5.0
STATE_MEMBER = "fynlo"

log = logging.getLogger("fynlo.auth.keys")

UtcTime = Annotated[datetime, msgspec.Meta(tz=True)]
FileSignature = tuple[int, int, int]


class KeyState(StrEnum):
    next = "next"
    current = "current"
    retiring = "retiring"


class KeyRecord(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The ``fynlo`` member of a stored key: where it is in its rotation."""

    state: KeyState
    created_at: UtcTime | None = None
    promoted_at: UtcTime | None = None
    demoted_at: UtcTime | None = None
    retire_after: UtcTime | None = None
    """A retiring key verifies until then; None (a key from before states) until forced."""


@dataclass(frozen=True)
class StoredKey:
    key: ECKey
    record: KeyRecord

    @property
    def kid(self) -> str:
        return str(self.key.kid)

    @property
    def state(self) -> KeyState:
        return self.record.state

    def verifies_at(self, now: datetime) -> bool:
        after = self.record.retire_after
        return self.state != KeyState.retiring or after is None or now < after


class KeyRotationRefused(Conflict):
    """A rotation step that makes no sense now, or would reject tokens still in use."""


class KeyFileInvalid(ServerError):
    """The key file cannot be read as our private JWKS."""


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def new_key(*, now: datetime, state: KeyState = KeyState.next) -> StoredKey:
    key = ECKey.generate_key(
        CURVE, parameters={"kid": uuid.uuid4().hex, "alg": ALGORITHM, "use": "sig"}
    )
    return StoredKey(key, KeyRecord(state=state, created_at=now))


# The rotation steps: values in, values out, no I/O.


def add_next(keys: Sequence[StoredKey], *, now: datetime) -> list[StoredKey]:
    """Publish a new key that verifies now and signs after ``promote``."""
    waiting = [key.kid for key in keys if key.state == KeyState.next]
    if waiting:
        raise KeyRotationRefused(f"key {waiting[0]} is already next; promote it first")
    return [*keys, new_key(now=now)]


def promote(
    keys: Sequence[StoredKey], *, now: datetime, keep_verifying: timedelta
) -> list[StoredKey]:
    """The next key signs; the current one verifies for ``keep_verifying`` more."""
    if not any(key.state == KeyState.next for key in keys):
        raise KeyRotationRefused("there is no next key; run `fynlo keys add-next` first")
    promoted: list[StoredKey] = []
    for key in keys:
        record = key.record
        if key.state == KeyState.next:
            record = msgspec.structs.replace(record, state=KeyState.current, promoted_at=now)
        elif key.state == KeyState.current:
            record = msgspec.structs.replace(
                record, state=KeyState.retiring, demoted_at=now, retire_after=now + keep_verifying
            )
        promoted.append(StoredKey(key.key, record))
    return promoted


def retire(
    keys: Sequence[StoredKey], *, now: datetime, kids: Collection[str] = (), force: bool = False
) -> tuple[list[StoredKey], list[StoredKey]]:
    """The keys kept and the keys dropped.

    Without ``kids``, every retiring key whose window has passed (with ``force``, every
    retiring key). A key named in ``kids`` that still verifies is refused unless ``force``.
    """
    by_kid = {key.kid: key for key in keys}
    for kid in kids:
        key = by_kid.get(kid)
        if key is None:
            raise KeyRotationRefused(f"there is no key {kid}")
        if key.state != KeyState.retiring:
            raise KeyRotationRefused(f"key {kid} is {key.state}; only a retiring key retires")
        if key.verifies_at(now) and not force:
            raise KeyRotationRefused(
                f"key {kid} verifies tokens {_until(key.record.retire_after)}; "
                "wait, or --force to reject every token it signed"
            )
    chosen = set(kids) or {
        key.kid
        for key in keys
        if key.state == KeyState.retiring and (force or not key.verifies_at(now))
    }
    kept = [key for key in keys if key.kid not in chosen]
    return kept, [key for key in keys if key.kid in chosen]


def check(keys: Sequence[StoredKey]) -> None:
    """Exactly one current key, at most one next, no kid twice."""
    kids = [key.kid for key in keys]
    if len(set(kids)) != len(kids):
        raise KeyFileInvalid("two signing keys share a kid")
    states = [key.state for key in keys]
    if states.count(KeyState.current) != 1:
        raise KeyFileInvalid("the key file needs exactly one current key")
    if states.count(KeyState.next) > 1:
        raise KeyFileInvalid("the key file holds more than one next key")


# The key file.


def encode_key_file(keys: Sequence[StoredKey]) -> bytes:
    entries = [
        {**key.key.as_dict(private=True), STATE_MEMBER: msgspec.to_builtins(key.record)}
        for key in keys
    ]
    return json.dumps({"keys": entries}, indent=2).encode() + b"\n"


def decode_key_file(data: bytes) -> list[StoredKey]:
    """The keys in a key file; a key without our member is from before states (see below)."""
    try:
        entries = json.loads(data)["keys"]
        keys = [_decode_entry(dict(entry), position) for position, entry in enumerate(entries)]
    except (ValueError, KeyError, TypeError, JoseError, msgspec.ValidationError) as exc:
        raise KeyFileInvalid(f"unreadable signing key file: {exc}") from exc
    check(keys)
    return keys


def _decode_entry(entry: dict[str, Any], position: int) -> StoredKey:
    state = entry.pop(STATE_MEMBER, None)
    key = ECKey.import_key(entry)
    if not key.is_private or key.get("crv") != CURVE or not key.kid:
        raise ValueError("every signing key must be a private P-256 key with a kid")
    if state is not None:
        return StoredKey(key, msgspec.convert(state, KeyRecord))
    # The file before states: its first key signed and every key verified; the others keep
    # verifying until an operator retires them with --force.
    return StoredKey(key, KeyRecord(state=KeyState.current if position == 0 else KeyState.retiring))


def read_key_file(path: Path) -> tuple[list[StoredKey], FileSignature]:
    with path.open("rb") as file:
        status = os.fstat(file.fileno())
        data = file.read()
    return decode_key_file(data), (status.st_ino, status.st_mtime_ns, status.st_size)


def write_key_file(path: Path, keys: Sequence[StoredKey], *, replace: bool = True) -> bool:
    """Write atomically with mode 0600: a reader sees the old file or the new one, whole.

    With ``replace=False`` an existing file wins (another process created it first) and
    the result is False.
    """
    check(keys)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as file:
            os.fchmod(file.fileno(), 0o600)
            file.write(encode_key_file(keys))
            file.flush()
            os.fsync(file.fileno())
        if replace:
            os.replace(temporary, path)
        else:
            try:
                os.link(temporary, path)
            except FileExistsError:
                return False
        _fsync_directory(path.parent)
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def update_key_file(
    path: Path, change: Callable[[list[StoredKey]], list[StoredKey]]
) -> list[StoredKey]:
    """Apply ``change`` to the file's keys under a lock, so two operators never interleave."""
    lock = os.open(path.with_name(path.name + ".lock"), os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        keys, _ = read_key_file(path)
        changed = change(keys)
        write_key_file(path, changed)
        return changed
    finally:
        os.close(lock)


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _signature_of(path: Path) -> FileSignature | None:
    try:
        status = path.stat()
    except OSError:
        return None
    return (status.st_ino, status.st_mtime_ns, status.st_size)


def _until(moment: datetime | None) -> str:
    return "until retired with --force" if moment is None else f"until {moment:%Y-%m-%d %H:%M} UTC"


# One process's view.


class SigningKeys:
    """The keys this process signs and verifies with, following the key file as it changes."""

    def __init__(
        self,
        keys: Sequence[StoredKey],
        *,
        path: Path | None = None,
        reload_interval: float = RELOAD_INTERVAL_SECONDS,
        clock: Callable[[], datetime] = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """``keys`` as read from ``path`` (None: keys that never change, as in tests)."""
        self.path = path
        self.reload_interval = reload_interval
        self.reloads = 0
        self._clock = clock
        self._monotonic = monotonic
        self._signature: FileSignature | None = None
        self._checked_at = self._reloaded_at = monotonic()
        self._use(list(keys))

    @classmethod
    def load_or_create(cls, path: Path, **options: Any) -> SigningKeys:
        """The keys in ``path``, created (mode 0600) with one current key if missing.

        Several worker processes may start at once: the first to create the file wins and
        every one of them reads the same keys.
        """
        if not path.exists():
            write_key_file(path, [new_key(now=utc_now(), state=KeyState.current)], replace=False)
        keys, signature = read_key_file(path)
        signing_keys = cls(keys, path=path, **options)
        signing_keys._signature = signature
        return signing_keys

    @property
    def current(self) -> ECKey:
        """The key signing now, as last read (see ``signing_key``)."""
        return self._current

    def signing_key(self) -> ECKey:
        """The key to sign with, after checking whether the key file changed."""
        self._check_file()
        return self._current

    def resolve(self, token: GuestProtocol) -> ECKey:
        """The verifying key a token's ``kid`` names, for ``jwt.decode`` (keys come only from
        our own file: ``jku``, ``x5u`` and ``jwk`` headers are never followed, RFC 8725 §3.10).
        """
        kid = token.headers().get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidKeyIdError("the token names no key")
        key = self.verifying_key(kid)
        if key is None:
            raise InvalidKeyIdError("the token names a key we do not hold")
        return key

    def verifying_key(self, kid: object) -> ECKey | None:
        """The key that verifies tokens naming ``kid`` now, if we hold one."""
        if not isinstance(kid, str) or not kid:
            return None
        self._check_file()
        key = self._verifying().get(kid)
        if key is None and self._reload_for_unknown_kid():
            key = self._verifying().get(kid)
        return key

    def public_jwks(self) -> dict[str, Any]:
        """The JWKS clients verify with: next, current and retiring keys, public parts only."""
        self._check_file()
        return {"keys": [key.as_dict(private=False) for key in self._verifying().values()]}

    def reload(self) -> bool:
        """Read the key file again; a broken file is logged and the keys in memory kept."""
        if self.path is None:
            return False
        self._reloaded_at = self._checked_at = self._monotonic()
        try:
            keys, signature = read_key_file(self.path)
        except (OSError, KeyFileInvalid) as exc:
            # Remember what we tried, so only a further change (or the interval) retries.
            self._signature = _signature_of(self.path)
            log.warning("signing keys not reloaded from %s: %s", self.path, exc)
            return False
        self._use(keys)
        self._signature = signature
        self.reloads += 1
        return True

    def _use(self, keys: list[StoredKey]) -> None:
        check(keys)
        self.stored = tuple(keys)
        self._current = next(key.key for key in keys if key.state == KeyState.current)

    def _verifying(self) -> dict[str, ECKey]:
        now = self._clock()
        return {key.kid: key.key for key in self.stored if key.verifies_at(now)}

    def _check_file(self) -> None:
        if self.path is None or self._monotonic() - self._checked_at < self.reload_interval:
            return
        self._checked_at = self._monotonic()
        if _signature_of(self.path) != self._signature:
            self.reload()

    def _reload_for_unknown_kid(self) -> bool:
        if self.path is None:
            return False
        changed = _signature_of(self.path) != self._signature
        if changed or self._monotonic() - self._reloaded_at >= self.reload_interval:
            return self.reload()
        return False
