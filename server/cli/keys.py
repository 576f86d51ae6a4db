"""``fynlo keys``: rotate the token signing keys without signing anybody out.

- ``fynlo keys add-next``: publish a new key; it verifies at once and signs nothing yet.
- ``fynlo keys promote``: the next key signs; the old one verifies until its tokens expire.
- ``fynlo keys retire [KID ...] [--force]``: delete keys whose tokens have all expired.
- ``fynlo keys list [--json]``: kids, states and dates, never a private part.

See "Rotating signing keys" in docs/security.md.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec

from server.auth import keys
from server.auth.approvals import APPROVAL_TTL_SECONDS
from server.auth.tokens import LEEWAY_SECONDS
from server.errors import FynloError
from server.settings import Settings, get_settings


def register(commands: Any) -> None:
    parser = commands.add_parser("keys", help="token signing keys and their rotation")
    parser.add_argument(
        "--file",
        type=Path,
        help="key file (default: FYNLO_SIGNING_KEY_FILE, else under FYNLO_DATA_DIR/keys/)",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("add-next", help="publish a new key that verifies but does not sign yet")
    actions.add_parser("promote", help="sign with the next key; the old one keeps verifying")
    retire = actions.add_parser("retire", help="delete keys whose tokens have all expired")
    retire.add_argument("kids", nargs="*", metavar="KID", help="only these retiring keys")
    retire.add_argument(
        "--force",
        action="store_true",
        help="for a leaked key: retire it now, rejecting every token it signed",
    )
    listing = actions.add_parser("list", help="kids, states and dates (no private parts)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=run)


def longest_token_lifetime(settings: Settings) -> timedelta:
    """How long a key must verify after it stops signing: the longest-lived token it may
    have signed (an iPad's refresh token, by default) plus the clock leeway."""
    lifetimes = (
        settings.access_token_ttl_seconds,
        settings.refresh_token_ttl_seconds,
        settings.device_refresh_token_ttl_seconds,
        settings.employee_session_ttl_seconds,
        APPROVAL_TTL_SECONDS,
    )
    return timedelta(seconds=max(lifetimes) + LEEWAY_SECONDS)


def run(args: argparse.Namespace) -> int:
    settings = get_settings()
    path: Path = args.file or settings.key_file
    if not path.exists():
        print(f"no key file at {path}; the server creates one when it first starts")
        return 1
    try:
        return _ACTIONS[args.action](path, settings, args)
    except FynloError as exc:
        print(f"refused: {exc.detail}")
        return 1
    except OSError as exc:  # a read-only mount, say: edit a copy with --file
        print(f"cannot update {path}: {exc}")
        return 1


def add_next(path: Path, settings: Settings, args: argparse.Namespace) -> int:
    now = keys.utc_now()
    added = keys.update_key_file(path, lambda stored: keys.add_next(stored, now=now))[-1]
    print(f"added next key {added.kid}: published and verifying, signing after `promote`")
    print("servers accept it within seconds; promote once clients caching our JWKS refetch it")
    return 0


def promote(path: Path, settings: Settings, args: argparse.Namespace) -> int:
    now, window = keys.utc_now(), longest_token_lifetime(settings)
    stored = keys.update_key_file(
        path, lambda stored: keys.promote(stored, now=now, keep_verifying=window)
    )
    for key in stored:
        if key.state == keys.KeyState.current:
            print(f"key {key.kid} signs from now on (servers follow within seconds)")
        elif key.record.demoted_at == now:
            print(f"key {key.kid} keeps verifying {_until(key)}; then `fynlo keys retire`")
    return 0


def retire(path: Path, settings: Settings, args: argparse.Namespace) -> int:
    now = keys.utc_now()
    dropped: list[keys.StoredKey] = []

    def drop(stored: list[keys.StoredKey]) -> list[keys.StoredKey]:
        kept, gone = keys.retire(stored, now=now, kids=args.kids, force=args.force)
        dropped.extend(gone)
        return kept

    kept = keys.update_key_file(path, drop)
    for key in dropped:
        early = key.verifies_at(now)
        print(f"retired key {key.kid}" + (": its tokens are rejected from now on" if early else ""))
    for key in kept:
        if key.state == keys.KeyState.retiring:
            print(f"kept key {key.kid}: it verifies tokens {_until(key)}")
    if not dropped:
        print("no key was due to retire")
    return 0


def list_keys(path: Path, settings: Settings, args: argparse.Namespace) -> int:
    stored, _ = keys.read_key_file(path)
    rows = [_describe(key) for key in stored]
    if args.json:
        print(msgspec.json.encode(rows).decode())
        return 0
    print(f"{'KID':<34} {'STATE':<9} {'CREATED':<20} {'PROMOTED':<20} RETIRE AFTER")
    for row in rows:
        print(
            f"{row['kid']:<34} {row['state']:<9} {row['created_at'] or '-':<20} "
            f"{row['promoted_at'] or '-':<20} {row['retire_after'] or '-'}"
        )
    return 0


def _describe(key: keys.StoredKey) -> dict[str, str | None]:
    """What an operator may see of a key: its id, state and dates, never key material."""
    record = key.record
    return {
        "kid": key.kid,
        "state": key.state.value,
        "created_at": _iso(record.created_at),
        "promoted_at": _iso(record.promoted_at),
        "demoted_at": _iso(record.demoted_at),
        "retire_after": _iso(record.retire_after),
    }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else f"{moment:%Y-%m-%dT%H:%M:%SZ}"


def _until(key: keys.StoredKey) -> str:
    after = key.record.retire_after
    return "until retired with --force" if after is None else f"until {_iso(after)}"


_ACTIONS: dict[str, Callable[[Path, Settings, argparse.Namespace], int]] = {
    "add-next": add_next,
    "promote": promote,
    "retire": retire,
    "list": list_keys,
}
