"""Cursors a client sends back are checked before they reach a query."""

from __future__ import annotations

import pytest

from server.errors import ValidationFailed
from server.pagination import decode_id_cursor


@pytest.mark.parametrize("cursor", ["²", "١٢", "-1", "1e3", "", "9" * 20])
def test_an_id_cursor_we_did_not_issue_is_a_field_error(cursor: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        decode_id_cursor(cursor)
    assert refused.value.field == "cursor"


def test_an_id_cursor_we_issued_reads_back() -> None:
    assert decode_id_cursor("42") == 42
    assert decode_id_cursor(None) is None
