"""Signing-key rotation on the real key file and the real app: 0 failed verifications (B4).

Each test gets its own key file under ``tmp_path``, and the app tests their own app built by
``create_app`` on it, so the session's app and its tokens never see a rotation. "Another
process" is a second ``SigningKeys`` reading the same file, which is all a process shares.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import stat
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import msgspec
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey
from litestar import Litestar

from server.app import create_app
from server.auth import keys
from server.auth.keys import KeyState, SigningKeys
from server.auth.tables import Role
from server.auth.tokens import AUDIENCE, Caller, TokenKind, issue_access_token, verify
from server.cli.main import main as fynlo
from server.errors import NotAuthenticated
from server.settings import Settings
from tests.factories import Tenant, make_ipad

ROUTE = "/api/v1/products"
# Fast enough that a test sees every process follow the file within a few ticks.
QUICK = 0.05
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k")


def run_keys(path: Path, *args: str) -> int:
    return fynlo(["keys", "--file", str(path), *args])


def kid_of(token: str) -> str:
    header = token.split(".")[0]
    return str(json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"])


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def eventually(condition: Callable[[], bool], *, within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(QUICK / 2)


class Ticks:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Rotating:
    """An app of its own on a fresh key file, and an HTTP client for it."""

    path: Path
    app: Litestar
    client: httpx.AsyncClient
    settings: Settings

    @property
    def keys(self) -> SigningKeys:
        keys: SigningKeys = self.app.state.signing_keys
        return keys


@pytest.fixture
async def rotating(app: Litestar, settings: Settings, tmp_path: Path) -> AsyncIterator[Rotating]:
    path = tmp_path / "keys" / "signing.jwks.json"
    own = create_app(msgspec.structs.replace(settings, signing_key_file=path))
    own.state.signing_keys.reload_interval = QUICK
    transport = httpx.ASGITransport(app=own)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield Rotating(path, own, client, settings)


def owner_of(tenant: Tenant) -> Caller:
    return Caller(user_id=tenant.user_id, restaurant_id=tenant.restaurant_id, role=Role.owner)


async def test_tokens_issued_throughout_a_rotation_all_verify(
    rotating: Rotating, tenant: Tenant
) -> None:
    """add-next, promote and retire while two processes sign and the app verifies nonstop."""
    here = rotating.keys
    there = SigningKeys.load_or_create(rotating.path, reload_interval=QUICK)
    issuer = rotating.settings.jwt_issuer
    seen: list[tuple[str, str, int]] = []
    stop = asyncio.Event()

    async def traffic() -> None:
        while not stop.is_set():
            for name, signer in (("here", here), ("there", there)):
                token = issue_access_token(signer, owner_of(tenant), issuer=issuer, ttl=900)
                response = await rotating.client.get(
                    ROUTE, headers={"Authorization": f"Bearer {token}"}
                )
                status = response.status_code
                try:  # the second process verifies every token too
                    verify(there, token, TokenKind.access, issuer=issuer)
                except NotAuthenticated:
                    status = 401
                seen.append((name, kid_of(token), status))
            await asyncio.sleep(0)

    def signed_with(kid: str, times: int = 10) -> Callable[[], bool]:
        """From now on, each process has signed ``times`` tokens with ``kid``."""
        start = len(seen)
        return lambda: all(
            sum(1 for entry in seen[start:] if entry[:2] == (name, kid)) >= times
            for name in ("here", "there")
        )

    old = here.current.kid
    assert old is not None and there.current.kid == old
    ipad = await make_ipad(rotating.app, tenant)  # its refresh token is signed by the old key
    running = asyncio.create_task(traffic())
    try:
        await eventually(signed_with(old))
        assert run_keys(rotating.path, "add-next") == 0
        new = next(key.kid for key in keys.read_key_file(rotating.path)[0] if key.kid != old)
        await eventually(lambda: all(new in {k.kid for k in p.stored} for p in (here, there)))
        await eventually(signed_with(old))  # published, not signing yet

        assert run_keys(rotating.path, "promote") == 0
        await eventually(signed_with(new))
        refreshed = await rotating.client.post(
            "/api/v1/auth/refresh", json={"refresh_token": ipad.refresh_token}
        )
        assert refreshed.status_code == 200, refreshed.text
        assert kid_of(refreshed.json()["refresh_token"]) == new

        # The old key's window is the longest token lifetime (90 days); pretend it passed.
        retired = keys.read_key_file(rotating.path)[0][0]
        assert retired.kid == old and retired.record.retire_after is not None
        later = retired.record.retire_after
        keys.update_key_file(rotating.path, lambda stored: keys.retire(stored, now=later)[0])
        await eventually(lambda: all(old not in {k.kid for k in p.stored} for p in (here, there)))
        await eventually(signed_with(new))
    finally:
        stop.set()
        await running

    failures = [entry for entry in seen if entry[2] != 200]
    assert failures == [], f"{len(failures)} of {len(seen)} requests failed"
    assert {(name, kid) for name, kid, _ in seen} == {
        ("here", old),
        ("there", old),
        ("here", new),
        ("there", new),
    }
    assert len(seen) >= 80
    assert (here.reloads, there.reloads) == (3, 3)  # add-next, promote, retire
    assert mode_of(rotating.path) == 0o600


async def test_a_token_signed_by_a_retired_key_is_rejected(
    rotating: Rotating, tenant: Tenant
) -> None:
    issuer = rotating.settings.jwt_issuer
    old_token = issue_access_token(rotating.keys, owner_of(tenant), issuer=issuer, ttl=900)
    for step in (["add-next"], ["promote"]):
        assert run_keys(rotating.path, *step) == 0
    headers = {"Authorization": f"Bearer {old_token}"}
    assert (await rotating.client.get(ROUTE, headers=headers)).status_code == 200

    assert run_keys(rotating.path, "retire") == 0  # inside its window: kept
    assert (await rotating.client.get(ROUTE, headers=headers)).status_code == 200
    assert run_keys(rotating.path, "retire", "--force") == 0
    await asyncio.sleep(QUICK * 2)

    response = await rotating.client.get(ROUTE, headers=headers)
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "not_authenticated"
    new_token = issue_access_token(rotating.keys, owner_of(tenant), issuer=issuer, ttl=900)
    assert kid_of(new_token) != kid_of(old_token)
    assert (
        await rotating.client.get(ROUTE, headers={"Authorization": f"Bearer {new_token}"})
    ).status_code == 200


async def test_the_jwks_endpoint_follows_the_rotation_with_public_parts_only(
    rotating: Rotating,
) -> None:
    async def published() -> list[dict[str, str]]:
        await asyncio.sleep(QUICK * 2)
        response = await rotating.client.get("/.well-known/jwks.json")
        assert response.status_code == 200
        document: dict[str, list[dict[str, str]]] = response.json()
        for key in document["keys"]:
            assert not set(PRIVATE_MEMBERS) & set(key), key
            assert keys.STATE_MEMBER not in key
        return document["keys"]

    old = rotating.keys.current.kid
    assert [key["kid"] for key in await published()] == [old]
    run_keys(rotating.path, "add-next")
    new = keys.read_key_file(rotating.path)[0][1].kid
    assert [key["kid"] for key in await published()] == [old, new]
    run_keys(rotating.path, "promote")
    assert [key["kid"] for key in await published()] == [old, new]
    run_keys(rotating.path, "retire", "--force")
    assert [key["kid"] for key in await published()] == [new]


def test_another_process_learns_a_promoted_key_from_an_unknown_kid(tmp_path: Path) -> None:
    """A process that never re-checks the file on its own still verifies the new key's tokens."""
    path = tmp_path / "signing.jwks.json"
    stale = SigningKeys.load_or_create(path, reload_interval=3600)
    assert run_keys(path, "add-next") == 0
    assert run_keys(path, "promote") == 0
    started_later = SigningKeys.load_or_create(path)
    caller = Caller(user_id=uuid.uuid4(), restaurant_id=uuid.uuid4(), role=Role.owner)
    token = issue_access_token(started_later, caller, issuer="fynlo", ttl=900)
    assert kid_of(token) not in {key.kid for key in stale.stored}

    assert verify(stale, token, TokenKind.access, issuer="fynlo").sub == caller.user_id
    assert stale.reloads == 1
    assert stale.current.kid == started_later.current.kid


def test_a_flood_of_unknown_kids_reloads_at_most_once_per_interval(tmp_path: Path) -> None:
    path = tmp_path / "signing.jwks.json"
    ticks = Ticks()
    server = SigningKeys.load_or_create(path, reload_interval=5.0, monotonic=ticks)
    attacker = ECKey.generate_key("P-256")
    claims = {"iss": "fynlo", "aud": AUDIENCE, "sub": str(uuid.uuid4()), "exp": 2**40}

    def flood() -> None:
        for _ in range(500):
            header = {"alg": "ES256", "kid": uuid.uuid4().hex, "typ": "at+jwt"}
            with pytest.raises(NotAuthenticated):
                verify(
                    server, jwt.encode(header, claims, attacker), TokenKind.access, issuer="fynlo"
                )

    flood()
    assert server.reloads == 0  # the file has not changed and the interval has not passed
    ticks.now += 5.0
    flood()
    assert server.reloads == 1
    run_keys(path, "add-next")  # a real change is picked up at once, once
    flood()
    assert server.reloads == 2


def test_a_broken_key_file_keeps_the_keys_in_memory(tmp_path: Path) -> None:
    path = tmp_path / "signing.jwks.json"
    server = SigningKeys.load_or_create(path, reload_interval=0)
    kid = server.current.kid
    path.write_text('{"keys": [')
    assert server.reload() is False
    assert server.signing_key().kid == kid


def test_fynlo_keys_list_shows_states_and_dates_never_key_material(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "signing.jwks.json"
    SigningKeys.load_or_create(path)
    for step in ("add-next", "promote", "add-next"):
        assert run_keys(path, step) == 0
    secrets = [key.key.as_dict(private=True)["d"] for key in keys.read_key_file(path)[0]]
    capsys.readouterr()

    assert run_keys(path, "list") == 0
    table = capsys.readouterr().out
    assert run_keys(path, "list", "--json") == 0
    rows = json.loads(capsys.readouterr().out)

    assert [row["state"] for row in rows] == ["retiring", "current", "next"]
    assert rows[0]["retire_after"] is not None and rows[1]["promoted_at"] is not None
    for row in rows:
        assert set(row) == {
            "kid",
            "state",
            "created_at",
            "promoted_at",
            "demoted_at",
            "retire_after",
        }
        assert row["kid"] in table
    for output in (table, json.dumps(rows)):
        assert not any(secret in output for secret in secrets)
        assert '"d"' not in output and '"x"' not in output


def test_retire_refuses_a_key_inside_its_window_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "signing.jwks.json"
    SigningKeys.load_or_create(path)
    run_keys(path, "add-next")
    run_keys(path, "promote")
    old = next(key.kid for key in keys.read_key_file(path)[0] if key.state == KeyState.retiring)

    assert run_keys(path, "retire", old) == 1
    assert "refused" in capsys.readouterr().out
    assert old in {key.kid for key in keys.read_key_file(path)[0]}
    assert run_keys(path, "retire", old, "--force") == 0
    assert old not in {key.kid for key in keys.read_key_file(path)[0]}


def test_steps_out_of_order_are_refused_and_change_nothing(tmp_path: Path) -> None:
    path = tmp_path / "signing.jwks.json"
    SigningKeys.load_or_create(path)
    before = path.read_bytes()
    assert run_keys(path, "promote") == 1
    assert run_keys(path, "add-next") == 0
    after_add = path.read_bytes()
    assert after_add != before
    assert run_keys(path, "add-next") == 1
    assert path.read_bytes() == after_add


def test_the_key_file_is_private_after_every_step(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "signing.jwks.json"
    SigningKeys.load_or_create(path)
    modes = [mode_of(path)]
    for step in (["add-next"], ["promote"], ["retire", "--force"]):
        run_keys(path, *step)
        modes.append(mode_of(path))
    assert modes == [0o600] * 4
    assert mode_of(path.parent) == 0o700
    assert [name.name for name in path.parent.iterdir() if name.name.endswith(".tmp")] == []
    assert not [name for name in path.parent.iterdir() if name.name.startswith(".")]


def test_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    path = tmp_path / "signing.jwks.json"
    first = keys.new_key(now=keys.utc_now(), state=KeyState.current)
    second = keys.new_key(now=keys.utc_now(), state=KeyState.current)
    assert keys.write_key_file(path, [first], replace=False) is True
    assert keys.write_key_file(path, [second], replace=False) is False
    assert SigningKeys.load_or_create(path).current.kid == first.kid
    assert os.listdir(tmp_path) == ["signing.jwks.json"]
