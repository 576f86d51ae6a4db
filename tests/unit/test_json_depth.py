"""The nesting check reads JSON's strings as a parser does, so neither a bracket inside
a string nor an escaped quote or backslash moves the depth it counts."""

from __future__ import annotations

import json

import pytest

from server.settings import get_settings
from server.strict_bodies import NestingTooDeep, _check_depth

LIMIT = get_settings().max_json_depth


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def test_the_limit_itself_passes_and_one_more_is_refused() -> None:
    _check_depth(nested(LIMIT))
    with pytest.raises(NestingTooDeep):
        _check_depth(nested(LIMIT + 1))


def test_brackets_inside_strings_do_not_count() -> None:
    _check_depth(json.dumps({"notes": "[" * 500, "more": ["{" * 500, 'a "quoted" [']}).encode())


@pytest.mark.parametrize("text", ["ends in a backslash \\", 'an escaped quote \\" [[', "\\\\\\"])
def test_escapes_in_a_string_do_not_hide_nesting_after_it(text: str) -> None:
    body = json.dumps({"notes": text}).encode()[:-1] + b', "deep": ' + nested(LIMIT + 1) + b"}"
    json.loads(body)  # the body is valid JSON: only its depth is wrong
    with pytest.raises(NestingTooDeep):
        _check_depth(body)


def test_an_unterminated_string_is_read_to_the_end_in_linear_time() -> None:
    # Every quote opens a string that never closes: a backtracking scan would be quadratic.
    _check_depth(b'["' + b'\\"[' * 300_000)
