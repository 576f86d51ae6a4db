"""Proof, checked later, that an employee made a change on an iPad and a manager approved it,
while the iPad was offline (``docs/security.md``, "Offline sign-in and approvals").

A PIN is all an employee carries, and the server cannot be asked while offline, so the PIN
unlocks a key the server can recompute:

- ``seed = PBKDF2-HMAC-SHA256(PIN, salt, ITERATIONS)``, computed by the server whenever it
  sees the PIN (set, or an online PIN sign-in) and stored like a PIN hash;
- ``key = HMAC-SHA256(seed, "fynlo-offline-key-v1|" + device_id)``: one key per employee
  per iPad, so what one iPad learns is useless on another;
- the iPad holds only ``salt``, ``ITERATIONS`` and ``verifier = HMAC(key, "verify")``: it
  checks a PIN offline by deriving the key and comparing, and then signs with the key.

A change carries ``proof = HMAC(key, purpose + "\\n" + statement)`` for its maker (purpose
``actor``) and, where a permission needs it, its approver (``approval:<permission>``); the
statement binds the iPad, the change's sequence number, entity, operation, HLC and fields,
so a proof cannot be moved to another change or another iPad. Only SHA-256 and HMAC are
needed, which the iPad app implements without outside libraries.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from typing import Any
from uuid import UUID

ITERATIONS = 100_000
"""PBKDF2 rounds: a few hundred milliseconds on an iPad per PIN check, and what an attacker
holding one iPad's stored verifiers pays per guess."""
SALT_BYTES = 16
_KEY_LABEL = b"fynlo-offline-key-v1|"
_VERIFY_LABEL = b"verify"
STATEMENT_VERSION = "fynlo-change-v1"


def new_seed(pin: str) -> tuple[bytes, bytes]:
    """A fresh ``(salt, seed)`` for ``pin``: stored with the employee, never sent anywhere."""
    salt = os.urandom(SALT_BYTES)
    return salt, seed(pin, salt)


def seed(pin: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, ITERATIONS, dklen=32)


def device_key(seed_bytes: bytes, device_id: UUID) -> bytes:
    return hmac.digest(seed_bytes, _KEY_LABEL + str(device_id).encode(), "sha256")


def verifier(key: bytes) -> str:
    return hmac.digest(key, _VERIFY_LABEL, "sha256").hex()


def canonical_json(value: Any) -> str:
    """JSON with sorted keys, no spaces and unescaped non-ASCII (RFC 8785 for the integers,
    strings, booleans, nulls, lists and objects that change fields hold)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def statement(
    *,
    device_id: UUID,
    seq: int,
    entity_type: str,
    entity_id: UUID,
    op: str,
    hlc: str,
    fields: dict[str, Any],
) -> str:
    """What a proof signs: one change of one iPad, exactly as pushed."""
    return "\n".join(
        (
            STATEMENT_VERSION,
            str(device_id),
            str(seq),
            entity_type,
            str(entity_id),
            op,
            hlc,
            canonical_json(fields),
        )
    )


def proof(key: bytes, purpose: str, signed: str) -> str:
    return hmac.digest(key, f"{purpose}\n{signed}".encode(), "sha256").hex()


def approval_purpose(permission: str) -> str:
    return f"approval:{permission}"


ACTOR_PURPOSE = "actor"


def proves(key: bytes, purpose: str, signed: str, claimed: str) -> bool:
    return hmac.compare_digest(proof(key, purpose, signed), claimed)


class SignedIn:
    """An employee signed in on an iPad by PIN: their key for this iPad, held in memory until
    the iPad locks. What the iPad app does, and what tests and the reference client use."""

    def __init__(self, employee_id: UUID, key: bytes) -> None:
        self.employee_id = employee_id
        self.key = key

    @classmethod
    def from_pin(
        cls, *, employee_id: UUID, device_id: UUID, pin: str, salt_hex: str, verifier_hex: str
    ) -> SignedIn:
        """Check ``pin`` against the iPad's offline credential; ``ValueError`` if wrong."""
        key = device_key(seed(pin, bytes.fromhex(salt_hex)), device_id)
        if not hmac.compare_digest(verifier(key), verifier_hex):
            raise ValueError("wrong PIN")
        return cls(employee_id, key)

    def actor(self, signed: str) -> dict[str, str]:
        """The ``actor`` member of a pushed change whose statement is ``signed``."""
        return {
            "employee_id": str(self.employee_id),
            "proof": proof(self.key, ACTOR_PURPOSE, signed),
        }

    def approval(self, permission: str, signed: str) -> dict[str, str]:
        """The ``approval`` member: this (manager) approves ``permission`` for the change."""
        return {
            "approver_id": str(self.employee_id),
            "permission": permission,
            "proof": proof(self.key, approval_purpose(permission), signed),
        }


def statement_of(device_id: UUID | str, change: dict[str, Any]) -> str:
    """The statement of a change in its wire form (``seq``, ``entity_type``, ...)."""
    return statement(
        device_id=UUID(str(device_id)),
        seq=int(change["seq"]),
        entity_type=str(change["entity_type"]),
        entity_id=UUID(str(change["entity_id"])),
        op=str(change["op"]),
        hlc=str(change["hlc"]),
        fields=dict(change.get("fields") or {}),
    )
