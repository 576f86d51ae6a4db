"""PIN rules: 4 to 8 digits, the most common PINs refused, hashed with argon2id.

A 4-digit PIN is weak on its own; what makes it safe is the server-side lockout (10
consecutive failures lock it until a manager resets it) and the hourly ceiling of 100
failures, as NIST SP 800-63B-4 asks of activation secrets.
"""

from __future__ import annotations

import itertools
import re

from server.errors import ValidationFailed

MAX_CONSECUTIVE_FAILURES = 10

_DIGITS = re.compile(r"^[0-9]{4,8}$")

# The most used PINs in published leak studies (Berry, DataGenetics 2012; Wang et al. 2017),
# plus every run of one repeated digit and every straight ascending or descending run.
_COMMON = frozenset(
    {
        "1234", "1111", "0000", "1212", "7777", "1004", "2000", "4444", "2222", "6969",
        "9999", "3333", "5555", "6666", "1122", "1313", "8888", "4321", "2001", "1010",
        "123456", "654321", "111111", "000000", "123123", "666666", "121212", "112233",
        "789456", "159753", "12345678", "87654321", "11111111", "00000000", "11223344",
        "147258", "123321", "520520", "147852", "159357",
    }
)  # fmt: skip


def _is_trivial(pin: str) -> bool:
    if len(set(pin)) == 1:
        return True
    steps = {(int(b) - int(a)) % 10 for a, b in itertools.pairwise(pin)}
    return steps in ({1}, {9})


def check_pin(pin: str) -> None:
    """Refuse a PIN that is malformed or too easy to guess."""
    if not _DIGITS.match(pin):
        raise ValidationFailed("a PIN is 4 to 8 digits", field="pin")
    if pin in _COMMON or _is_trivial(pin):
        raise ValidationFailed("this PIN is too common; choose another", field="pin")
