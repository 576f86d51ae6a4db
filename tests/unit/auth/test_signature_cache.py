"""A token's checked signature is remembered, never its verdict: every later use is judged
again on its type, its times and the key that signed it (``server/auth/signature_cache.py``)."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from server.auth import signature_cache
from server.auth.keys import SigningKeys
from server.auth.tokens import TokenKind, issue, verify, verify_access_token
from server.errors import NotAuthenticated
from tests.unit.auth.test_keys import ISSUER, OWNER, START, process, rotation, token


def test_a_remembered_token_is_still_refused_once_its_key_stops_verifying() -> None:
    _, published, promoted, _ = rotation()
    old_token = token(process(published))
    due = promoted[0].record.retire_after
    assert due is not None
    now = [due - timedelta(seconds=1)]
    one_process = SigningKeys(promoted, clock=lambda: now[0])
    assert verify_access_token(one_process, old_token, issuer=ISSUER).user_id == OWNER.user_id
    assert signature_cache.lookup(old_token) is not None
    now[0] = due  # the same process, the same key objects: only the clock moved
    with pytest.raises(NotAuthenticated):
        verify_access_token(one_process, old_token, issuer=ISSUER)


def test_a_remembered_token_is_judged_on_its_times_at_every_use() -> None:
    signer = process(rotation()[0], at=START)
    expired = issue(
        signer,
        TokenKind.access,
        subject=uuid4(),
        restaurant_id=uuid4(),
        issuer=ISSUER,
        ttl=-60,  # past the 30 s leeway
        role="owner",
    )
    for _ in range(2):  # the second use finds the signature remembered
        with pytest.raises(NotAuthenticated):
            verify(signer, expired, TokenKind.access, issuer=ISSUER)
        assert signature_cache.lookup(expired) is not None


def test_a_remembered_token_is_still_only_its_own_kind() -> None:
    signer = process(rotation()[0])
    access = token(signer)
    verify(signer, access, TokenKind.access, issuer=ISSUER)
    with pytest.raises(NotAuthenticated):
        verify(signer, access, TokenKind.device, issuer=ISSUER)


def test_another_process_with_other_keys_verifies_from_scratch() -> None:
    signer = process(rotation()[0])
    access = token(signer)
    verify(signer, access, TokenKind.access, issuer=ISSUER)
    stranger = process(rotation()[0])  # fresh keys: the remembered key is not among them
    with pytest.raises(NotAuthenticated):
        verify(stranger, access, TokenKind.access, issuer=ISSUER)


def test_the_cache_is_bounded() -> None:
    signer = process(rotation()[0])
    signature_cache.forget_all()
    for _ in range(signature_cache.MAX_ENTRIES + 10):
        verify(signer, token(signer), TokenKind.access, issuer=ISSUER)
    assert len(signature_cache._verified) == signature_cache.MAX_ENTRIES
