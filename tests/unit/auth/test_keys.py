"""Signing keys and their rotation, in memory: the steps, and what each process accepts (B4).

The key file, reloading across processes and the real app are in
``tests/integration/auth/test_key_rotation.py``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from joserfc.jwk import KeySet

from server.auth import keys
from server.auth.keys import KeyFileInvalid, KeyRotationRefused, KeyState, SigningKeys, StoredKey
from server.auth.tables import Role
from server.auth.tokens import Caller, TokenKind, issue_access_token, verify, verify_access_token
from server.errors import NotAuthenticated

ISSUER = "fynlo-test"
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
WINDOW = timedelta(days=90, seconds=30)
OWNER = Caller(user_id=uuid4(), restaurant_id=uuid4(), role=Role.owner)
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k")


def first_ring() -> list[StoredKey]:
    return [keys.new_key(now=START, state=KeyState.current)]


def rotation() -> list[list[StoredKey]]:
    """The key file after each step: start, add-next, promote, retire once the window passed."""
    start = first_ring()
    published = keys.add_next(start, now=START + timedelta(days=1))
    promoted = keys.promote(published, now=START + timedelta(days=2), keep_verifying=WINDOW)
    retired, _ = keys.retire(promoted, now=START + timedelta(days=2) + WINDOW)
    return [start, published, promoted, retired]


def process(ring: list[StoredKey], *, at: datetime = START) -> SigningKeys:
    """One server process that last read the key file when it held ``ring``."""
    return SigningKeys(ring, clock=lambda: at)


def token(signer: SigningKeys) -> str:
    return issue_access_token(signer, OWNER, issuer=ISSUER, ttl=900)


def states(ring: list[StoredKey]) -> list[KeyState]:
    return [key.state for key in ring]


# The steps.


def test_add_next_publishes_a_key_that_does_not_sign() -> None:
    start = first_ring()
    published = keys.add_next(start, now=START)
    assert states(published) == [KeyState.current, KeyState.next]
    assert process(published).current.kid == start[0].kid


def test_add_next_refuses_while_a_next_key_waits() -> None:
    published = keys.add_next(first_ring(), now=START)
    with pytest.raises(KeyRotationRefused, match="already next"):
        keys.add_next(published, now=START)


def test_promote_needs_a_next_key() -> None:
    with pytest.raises(KeyRotationRefused, match="add-next"):
        keys.promote(first_ring(), now=START, keep_verifying=WINDOW)


def test_promote_signs_with_the_next_key_and_keeps_the_old_one_verifying() -> None:
    published = keys.add_next(first_ring(), now=START)
    _, new = published
    promoted = keys.promote(published, now=START + timedelta(hours=1), keep_verifying=WINDOW)
    assert states(promoted) == [KeyState.retiring, KeyState.current]
    assert promoted[0].record.retire_after == START + timedelta(hours=1) + WINDOW
    assert promoted[0].record.demoted_at == START + timedelta(hours=1)
    assert promoted[1].record.promoted_at == START + timedelta(hours=1)
    assert process(promoted).current.kid == new.kid
    assert promoted[0].verifies_at(START + timedelta(hours=1) + WINDOW - timedelta(seconds=1))
    assert not promoted[0].verifies_at(START + timedelta(hours=1) + WINDOW)


def test_retire_drops_only_keys_past_their_window() -> None:
    promoted = rotation()[2]
    due = promoted[0].record.retire_after
    assert due is not None
    kept, dropped = keys.retire(promoted, now=due - timedelta(seconds=1))
    assert (kept, dropped) == (promoted, [])
    kept, dropped = keys.retire(promoted, now=due)
    assert dropped == [promoted[0]] and kept == [promoted[1]]


def test_retire_refuses_a_named_key_inside_its_window_unless_forced() -> None:
    promoted = rotation()[2]
    old = promoted[0].kid
    with pytest.raises(KeyRotationRefused, match="--force"):
        keys.retire(promoted, now=START + timedelta(days=3), kids=[old])
    kept, dropped = keys.retire(promoted, now=START + timedelta(days=3), kids=[old], force=True)
    assert [key.kid for key in dropped] == [old] and states(kept) == [KeyState.current]


def test_force_without_kids_drops_every_retiring_key() -> None:
    kept, dropped = keys.retire(rotation()[2], now=START, force=True)
    assert states(kept) == [KeyState.current] and states(dropped) == [KeyState.retiring]


@pytest.mark.parametrize("state", [KeyState.current, KeyState.next], ids=lambda s: s.value)
def test_retire_never_drops_a_key_that_signs_or_is_about_to(state: KeyState) -> None:
    published = keys.add_next(first_ring(), now=START)
    kid = next(key.kid for key in published if key.state == state)
    with pytest.raises(KeyRotationRefused, match="only a retiring key"):
        keys.retire(published, now=START, kids=[kid], force=True)


def test_retire_refuses_an_unknown_kid() -> None:
    with pytest.raises(KeyRotationRefused, match="no key"):
        keys.retire(first_ring(), now=START, kids=["nope"], force=True)


def test_a_key_set_needs_exactly_one_current_key_and_distinct_kids() -> None:
    one = first_ring()[0]
    with pytest.raises(KeyFileInvalid, match="exactly one current"):
        keys.check([one, keys.new_key(now=START, state=KeyState.current)])
    with pytest.raises(KeyFileInvalid, match="exactly one current"):
        keys.check([keys.new_key(now=START)])
    with pytest.raises(KeyFileInvalid, match="share a kid"):
        keys.check([one, StoredKey(one.key, keys.KeyRecord(state=KeyState.next))])


# What processes accept while the steps happen.


def test_processes_one_step_apart_accept_each_others_tokens() -> None:
    """The promise of the rotation: a process that has not yet read the latest step never
    rejects a token from one that has, nor the other way round."""
    failures = []
    rings = rotation()
    for step in range(len(rings) - 1):
        behind, ahead = process(rings[step]), process(rings[step + 1])
        for signer, verifier in ((behind, ahead), (ahead, behind)):
            try:
                verify_access_token(verifier, token(signer), issuer=ISSUER)
            except NotAuthenticated:
                failures.append(step)
    assert failures == []


def test_the_signing_key_changes_only_at_promote() -> None:
    kids = [process(ring).current.kid for ring in rotation()]
    assert kids[0] == kids[1] != kids[2] == kids[3]


def test_a_retiring_key_past_its_window_neither_verifies_nor_is_published() -> None:
    _, published, promoted, _ = rotation()
    old_token = token(process(published))
    due = promoted[0].record.retire_after
    assert due is not None
    before, after = process(promoted, at=due - timedelta(seconds=1)), process(promoted, at=due)
    assert verify_access_token(before, old_token, issuer=ISSUER).user_id == OWNER.user_id
    with pytest.raises(NotAuthenticated):
        verify_access_token(after, old_token, issuer=ISSUER)
    assert promoted[0].kid in {key["kid"] for key in before.public_jwks()["keys"]}
    assert promoted[0].kid not in {key["kid"] for key in after.public_jwks()["keys"]}


def test_a_token_from_a_retired_key_is_rejected() -> None:
    start, _, _, retired = rotation()
    with pytest.raises(NotAuthenticated):
        verify_access_token(process(retired), token(process(start)), issuer=ISSUER)


def test_a_token_naming_no_key_is_rejected_even_with_a_single_key() -> None:
    from joserfc import jwt

    signer = process(first_ring())
    claims = {"iss": ISSUER, "aud": "fynlo-api", "sub": str(OWNER.user_id), "exp": 2**40}
    unnamed = jwt.encode({"alg": "ES256", "typ": "at+jwt"}, claims, signer.current)
    with pytest.raises(NotAuthenticated):
        verify(signer, unnamed, TokenKind.access, issuer=ISSUER)


def test_the_jwks_holds_next_current_and_retiring_keys_and_no_private_part() -> None:
    promoted = rotation()[2]
    published = keys.add_next(promoted, now=START + timedelta(days=3))
    assert states(published) == [KeyState.retiring, KeyState.current, KeyState.next]
    document = process(published).public_jwks()
    assert [key["kid"] for key in document["keys"]] == [key.kid for key in published]
    for key in document["keys"]:
        assert not set(PRIVATE_MEMBERS) & set(key), key
        assert keys.STATE_MEMBER not in key
        assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("EC", "P-256", "ES256", "sig")
    assert len(KeySet.import_key_set(document).keys) == 3  # type: ignore[arg-type]


# The file's contents (the file itself is in the integration tests).


def test_the_key_file_round_trips_states_and_dates() -> None:
    promoted = rotation()[2]
    decoded = keys.decode_key_file(keys.encode_key_file(promoted))
    assert [(key.kid, key.record) for key in decoded] == [(key.kid, key.record) for key in promoted]


def test_the_key_file_stays_a_plain_jwks() -> None:
    document = json.loads(keys.encode_key_file(rotation()[2]))
    imported = KeySet.import_key_set(document)
    assert [key.kid for key in imported.keys] == [entry["kid"] for entry in document["keys"]]
    assert document["keys"][0][keys.STATE_MEMBER]["state"] == "retiring"


def test_a_key_file_from_before_states_reads_as_first_current_others_retiring() -> None:
    bare = [keys.new_key(now=START).key for _ in range(2)]
    document = KeySet(list(bare)).as_dict(private=True)
    decoded = keys.decode_key_file(json.dumps(document).encode())
    assert states(decoded) == [KeyState.current, KeyState.retiring]
    assert decoded[1].record.retire_after is None and decoded[1].verifies_at(START + WINDOW * 10)
    _, dropped = keys.retire(decoded, now=START + WINDOW * 10)
    assert dropped == []


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{}",
        b'{"keys": []}',
        b'{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}',
        json.dumps({"keys": [first_ring()[0].key.as_dict(private=False)]}).encode(),
    ],
    ids=["empty", "no keys member", "no keys", "a symmetric key", "a public key only"],
)
def test_an_unusable_key_file_is_refused(content: bytes) -> None:
    with pytest.raises(KeyFileInvalid):
        keys.decode_key_file(content)
