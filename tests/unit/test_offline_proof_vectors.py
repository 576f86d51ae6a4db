"""The offline proof vectors (``shared/schema/vectors/offline-proofs.json``), which the Swift
app runs too, hold for the server's own code."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from server.auth import offline

VECTORS = json.loads(Path("shared/schema/vectors/offline-proofs.json").read_text())


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda case: case["name"])
def test_the_server_derives_and_signs_as_the_vectors_say(case: dict[str, Any]) -> None:
    expect = case["expect"]
    assert case["iterations"] == offline.ITERATIONS
    seed = offline.seed(case["pin"], bytes.fromhex(case["salt"]))
    key = offline.device_key(seed, UUID(case["device_id"]))
    statement = offline.statement_of(case["device_id"], case["change"])

    assert (seed.hex(), key.hex(), offline.verifier(key)) == (
        expect["seed"],
        expect["key"],
        expect["verifier"],
    )
    assert statement == expect["statement"]
    assert offline.proof(key, "actor", statement) == expect["actor_proof"]
    assert (
        offline.proof(key, f"approval:{case['permission']}", statement) == expect["approval_proof"]
    )


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda case: case["name"])
def test_the_vectors_follow_their_description_step_by_step(case: dict[str, Any]) -> None:
    """Recomputed from the published recipe with hashlib alone, as another client would."""
    expect = case["expect"]
    seed = hashlib.pbkdf2_hmac(
        "sha256", case["pin"].encode(), bytes.fromhex(case["salt"]), case["iterations"], 32
    )
    key = hmac.digest(seed, f"fynlo-offline-key-v1|{case['device_id']}".encode(), "sha256")
    change = case["change"]
    fields = json.dumps(change["fields"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    lines = ["fynlo-change-v1", case["device_id"], str(change["seq"]), change["entity_type"]]
    lines += [change["entity_id"], change["op"], change["hlc"], fields]
    statement = "\n".join(lines)

    assert statement == expect["statement"]
    assert hmac.digest(key, b"verify", "sha256").hex() == expect["verifier"]
    actor = hmac.digest(key, ("actor\n" + statement).encode(), "sha256").hex()
    assert actor == expect["actor_proof"]
