"""PIN rules: NIST SP 800-63B-4's for activation secrets, and argon2id hashes.

By default a PIN is 6 to 8 digits, and the obvious ones are refused: the most used PINs in
published leak studies, one digit repeated, a shorter block repeated (``1212``, ``123123``),
and straight runs up or down (``345678``, ``890123``). A restaurant's owner may allow 4 and 5
digits (``PUT /api/v1/employees/pin-policy``, audited); the blocklist still applies.

What keeps a PIN from being guessed on the till is the server's throttle: each iPad waits
longer after every wrong PIN for an employee, and every employee has an hourly ceiling
(``server.auth.throttle``, ``server.auth.ratelimit``).
"""

from __future__ import annotations

import itertools
import re

from server.errors import ValidationFailed

MIN_LENGTH = 6
"""The shortest PIN by default (NIST SP 800-63B-4, activation secrets)."""

SHORT_MIN_LENGTH = 4
"""The shortest PIN where the restaurant allows four digits."""

MAX_LENGTH = 8

_DIGITS = re.compile(r"^[0-9]+$")

# The most used PINs in published leak studies (Berry, DataGenetics 2012; Wang et al. 2017,
# "Understanding human-chosen PINs"), mostly keypad patterns, dates and pairs; runs and
# repeats are caught by the rules in ``_is_trivial`` whatever their length.
_COMMON = frozenset(
    {
        "1234", "1111", "0000", "1212", "7777", "1004", "2000", "4444", "2222", "6969",
        "9999", "3333", "5555", "6666", "1122", "1313", "8888", "4321", "2001", "1010",
        "123456", "654321", "111111", "000000", "123123", "666666", "121212", "112233",
        "789456", "159753", "888888", "520520", "147258", "123321", "555555", "987654",
        "159357", "147852", "222222", "999999", "131313", "456789", "123654", "147369",
        "258369", "321654", "456123", "369258", "852456", "741852", "963852", "101010",
        "202020", "121314", "112211", "100200", "110110", "520131", "5201314", "741963",
        "12345678", "87654321", "11111111", "00000000", "11223344", "12341234", "88888888",
    }
)  # fmt: skip


def min_length(*, allow_four_digits: bool) -> int:
    """The shortest PIN a restaurant with this setting accepts."""
    return SHORT_MIN_LENGTH if allow_four_digits else MIN_LENGTH


def _is_trivial(pin: str) -> bool:
    """One digit or a shorter block repeated, or a straight run up or down (wrapping 9-0)."""
    size = len(pin)
    for period in range(1, size // 2 + 1):
        if size % period == 0 and pin == pin[:period] * (size // period):
            return True
    steps = {(int(b) - int(a)) % 10 for a, b in itertools.pairwise(pin)}
    return steps in ({1}, {9})


def check_pin(pin: str, *, allow_four_digits: bool) -> None:
    """Refuse a PIN that is malformed, too short for the restaurant, or too easy to guess."""
    shortest = min_length(allow_four_digits=allow_four_digits)
    if not _DIGITS.match(pin) or not shortest <= len(pin) <= MAX_LENGTH:
        raise ValidationFailed(f"a PIN is {shortest} to {MAX_LENGTH} digits", field="pin")
    if pin in _COMMON or _is_trivial(pin):
        raise ValidationFailed("this PIN is too common; choose another", field="pin")
