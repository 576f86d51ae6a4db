"""``fynlo keys``: rotate the token signing keys without signing anybody out.

- ``fynlo keys add-next``: publish a new key; it verifies at once and signs nothing yet.
- ``fynlo keys promote``: the next key signs; the old one verifies until its tokens expire.
- ``fynlo keys retire [KID ...] [--force]``: delete keys whose tokens have all expired.
- ``fynlo keys list [--json]``: kids, states and dates, never a private part.

See "Rotating signing keys" in docs/security.md.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import click
import msgspec

from server.auth import keys
from server.auth.approvals import APPROVAL_TTL_SECONDS
from server.auth.tokens import LEEWAY_SECONDS
from server.errors import FynloError
from server.settings import Settings, get_settings


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


@click.group(name="keys", short_help="Token signing keys and their rotation.")
@click.option(
    "--file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Key file (default: FYNLO_SIGNING_KEY_FILE, else under FYNLO_DATA_DIR/keys/).",
)
@click.pass_context
def keys_group(context: click.Context, file: Path | None) -> None:
    """Token signing keys and their rotation (see "Rotating signing keys" in
    docs/security.md). Each action exits 1 if the key file is missing or the change is
    refused."""
    context.obj = file


def _on_key_file(action: Callable[[Path, Settings], int]) -> Callable[[click.Context], int]:
    """Run ``action`` on the key file, answering 1 with why when it cannot."""

    def run(context: click.Context) -> int:
        settings = get_settings()
        path: Path = context.obj or settings.key_file
        if not path.exists():
            click.echo(f"no key file at {path}; the server creates one when it first starts")
            return 1
        try:
            return action(path, settings)
        except FynloError as exc:
            click.echo(f"refused: {exc.detail}")
            return 1
        except OSError as exc:  # a read-only mount, say: edit a copy with --file
            click.echo(f"cannot update {path}: {exc}")
            return 1

    return run


@keys_group.command(name="add-next")
@click.pass_context
def add_next_command(context: click.Context) -> int:
    """Publish a new key that verifies at once but does not sign yet."""
    return _on_key_file(add_next)(context)


def add_next(path: Path, settings: Settings) -> int:
    now = keys.utc_now()
    added = keys.update_key_file(path, lambda stored: keys.add_next(stored, now=now))[-1]
    click.echo(f"added next key {added.kid}: published and verifying, signing after `promote`")
    click.echo("servers accept it within seconds; promote once clients caching our JWKS refetch it")
    return 0


@keys_group.command(name="promote")
@click.pass_context
def promote_command(context: click.Context) -> int:
    """Sign with the next key; the old one keeps verifying until its tokens expire."""
    return _on_key_file(promote)(context)


def promote(path: Path, settings: Settings) -> int:
    now, window = keys.utc_now(), longest_token_lifetime(settings)
    stored = keys.update_key_file(
        path, lambda stored: keys.promote(stored, now=now, keep_verifying=window)
    )
    for key in stored:
        if key.state == keys.KeyState.current:
            click.echo(f"key {key.kid} signs from now on (servers follow within seconds)")
        elif key.record.demoted_at == now:
            click.echo(f"key {key.kid} keeps verifying {_until(key)}; then `fynlo keys retire`")
    return 0


@keys_group.command(name="retire")
@click.argument("kids", nargs=-1, metavar="[KID]...")
@click.option(
    "--force",
    is_flag=True,
    help="For a leaked key: retire it now, rejecting every token it signed.",
)
@click.pass_context
def retire_command(context: click.Context, kids: tuple[str, ...], force: bool) -> int:
    """Delete keys whose tokens have all expired; KID names only these retiring keys."""
    return _on_key_file(lambda path, settings: retire(path, list(kids), force=force))(context)


def retire(path: Path, kids: list[str], *, force: bool) -> int:
    now = keys.utc_now()
    dropped: list[keys.StoredKey] = []

    def drop(stored: list[keys.StoredKey]) -> list[keys.StoredKey]:
        kept, gone = keys.retire(stored, now=now, kids=kids, force=force)
        dropped.extend(gone)
        return kept

    kept = keys.update_key_file(path, drop)
    for key in dropped:
        early = key.verifies_at(now)
        click.echo(
            f"retired key {key.kid}" + (": its tokens are rejected from now on" if early else "")
        )
    for key in kept:
        if key.state == keys.KeyState.retiring:
            click.echo(f"kept key {key.kid}: it verifies tokens {_until(key)}")
    if not dropped:
        click.echo("no key was due to retire")
    return 0


@keys_group.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def list_command(context: click.Context, as_json: bool) -> int:
    """Kids, states and dates of the keys (never a private part)."""
    return _on_key_file(lambda path, settings: list_keys(path, as_json=as_json))(context)


def list_keys(path: Path, *, as_json: bool) -> int:
    stored, _ = keys.read_key_file(path)
    rows = [_describe(key) for key in stored]
    if as_json:
        click.echo(msgspec.json.encode(rows).decode())
        return 0
    click.echo(f"{'KID':<34} {'STATE':<9} {'CREATED':<20} {'PROMOTED':<20} RETIRE AFTER")
    for row in rows:
        click.echo(
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


COMMANDS = (keys_group,)
