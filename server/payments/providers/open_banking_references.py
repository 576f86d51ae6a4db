"""What a payer sees on their bank statement: our reference, made fit for TrueLayer.

A merchant-account payment's ``beneficiary.statement_reference`` is at most 18 characters
(docs.truelayer.com/docs/configure-a-statement-reference); TrueLayer defers to UK schemes'
guidelines on special characters, so we keep to letters, digits, space and ``- . / &``, which
every UK scheme carries. The result must depend on the reference alone: the create request's
idempotency key promises TrueLayer the same body every time.
"""

from __future__ import annotations

import re
import unicodedata

MAX_LENGTH = 18
_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9 ./&-]+")
_SPACES = re.compile(r" {2,}")


def statement_reference(reference: str) -> str | None:
    """``"Order #42 (Café)"`` → ``"Order 42 Cafe"``; None if nothing printable is left
    (TrueLayer then prints a reference of its own)."""
    # Accents off first (é → e), so a name keeps its letters rather than losing them.
    plain = unicodedata.normalize("NFKD", reference).encode("ascii", "ignore").decode()
    kept = _SPACES.sub(" ", _NOT_ALLOWED.sub(" ", plain)).strip()
    shortened = kept[:MAX_LENGTH].rstrip()
    return shortened or None
