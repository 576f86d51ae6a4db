"""The page a pull sends (``feed.PullPage``, changes already JSON) has the documented
response's members, in its order and with its defaults, so the wire is the same."""

from __future__ import annotations

import msgspec

from server.sync.feed import PullPage
from server.sync.protocol import PullResponse


def test_the_sent_page_has_the_documented_members() -> None:
    assert PullPage.__struct_fields__ == PullResponse.__struct_fields__
    assert [type(value) for value in PullPage.__struct_defaults__] == [
        type(value) for value in PullResponse.__struct_defaults__
    ]
    assert PullPage.__struct_config__.omit_defaults == PullResponse.__struct_config__.omit_defaults


def test_an_empty_page_encodes_as_the_documented_response_does() -> None:
    fields = {"cursor": "c", "has_more": False, "phase": "feed", "last_applied_seq": 3}
    sent = PullPage(changes=msgspec.Raw(b"[]"), **fields)
    assert msgspec.json.encode(sent) == msgspec.json.encode(PullResponse(changes=[], **fields))
