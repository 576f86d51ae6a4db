"""The server's JWT signing keys: ES256 keys with a ``kid``, stored as a private JWKS file."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

from joserfc.jwk import ECKey, KeySet

# Only one algorithm is ever accepted, so no token can pick a weaker one (RFC 8725 §3.1).
ALGORITHM = "ES256"


def new_key() -> ECKey:
    return ECKey.generate_key(
        "P-256", parameters={"kid": uuid.uuid4().hex, "alg": ALGORITHM, "use": "sig"}
    )


class SigningKeys:
    """The key set; the first key signs, every key verifies (so rotation fails nothing)."""

    def __init__(self, keys: list[ECKey]) -> None:
        if not keys:
            raise ValueError("at least one signing key is required")
        self.keys = keys
        self.key_set = KeySet(list(keys))

    @property
    def current(self) -> ECKey:
        return self.keys[0]

    def public_jwks(self) -> dict[str, Any]:
        """The JWKS document clients use to verify our tokens; never holds a private part."""
        return dict(self.key_set.as_dict(private=False))

    @classmethod
    def load_or_create(cls, path: Path) -> SigningKeys:
        """Read the private JWKS at ``path``, creating it (mode 0600) with one key if missing."""
        if path.exists():
            document = json.loads(path.read_text())
            key_set = KeySet.import_key_set(document)
            return cls([k for k in key_set.keys if isinstance(k, ECKey)])
        keys = cls([new_key()])
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            json.dump(keys.key_set.as_dict(private=True), file)
        return keys
