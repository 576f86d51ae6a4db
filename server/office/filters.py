"""The lists' GET parameters: Conflicts and Quarantine filters read into the API's ``Filters``,
and every list's page (``cursor`` and ``limit``, as the API takes them).

The form sends every field, empty when unset: an empty ``state`` means any state, while a
page opened without one shows what needs a manager (open changes, new conflicts). Times come
from ``datetime-local`` inputs, without a zone: the pages show UTC, so they are read as UTC.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import NamedTuple
from urllib.parse import parse_qsl, urlencode
from uuid import UUID

from server.errors import ValidationFailed
from server.pagination import page_size
from server.sync.reports import ENTITY_TYPE_PATTERN, Filters

FIELDS = ("device", "entity_type", "since", "until", "state")
KEPT = (*FIELDS, "cursor", "limit")
"""What a list's address may carry back after an action on it."""


class Chosen(NamedTuple):
    """The filters as the form shows them again, and as the live region's query."""

    filters: Filters
    values: dict[str, str]
    query: str


def chosen(query: Mapping[str, str], *, states: Sequence[str], default_state: str) -> Chosen:
    values = {name: (query.get(name) or "").strip() for name in FIELDS}
    if "state" not in query:
        values["state"] = default_state
    filters = Filters(
        device_id=_device(values["device"]),
        entity_type=_entity_type(values["entity_type"]),
        since=_instant(values["since"], "since"),
        until=_instant(values["until"], "until"),
        state=values["state"] or None,
        states=tuple(states),
    )
    return Chosen(filters, values, urlencode(values))


class Paging(NamedTuple):
    """Which page of a list is shown: the API's ``cursor`` and ``limit``, and the list's filters.

    A ``limit`` in the query is kept on every link; the default one is left out of them.
    """

    cursor: str | None
    limit: int
    filters: str
    kept: str

    @property
    def here(self) -> str:
        """The query that shows this page again: the live region refreshes the page shown."""
        return _joined(
            self.filters, urlencode({"cursor": self.cursor}) if self.cursor else "", self.kept
        )

    @property
    def first(self) -> str:
        """The first page's query, filters kept."""
        return _joined(self.filters, self.kept)

    def next(self, next_cursor: str | None) -> str | None:
        """The next page's query, filters kept; None on the last page."""
        if next_cursor is None:
            return None
        return _joined(self.filters, urlencode({"cursor": next_cursor}), self.kept)


def paging(query: Mapping[str, str], *, default_limit: int, filters: str = "") -> Paging:
    """The page ``query`` asks for; ``filters`` is the list's own query (``Chosen.query``)."""
    asked = (query.get("limit") or "").strip()
    limit = _limit(asked, default_limit)
    kept = urlencode({"limit": limit}) if asked else ""
    return Paging(query.get("cursor") or None, limit, filters, kept)


def back(query: str, path: str) -> str:
    """Where an action on a list sends the browser: ``path``, the list's own address fixed by
    the route, with the filters and page its form carried (``Paging.here`` in a ``back``
    field). Only the list's own parameters are kept, re-encoded, so whatever the field holds
    the answer stays on that list (never an open redirect); values are checked when the list
    loads, like any bookmarked address."""
    kept = {
        name: value
        for name, value in parse_qsl(query[:2000], keep_blank_values=True)
        if name in KEPT
    }
    return f"{path}?{urlencode(kept)}" if kept else path


def _limit(value: str, default: int) -> int:
    if not value:
        return default
    if not (value.isascii() and value.isdigit()) or len(value) > 6:
        raise ValidationFailed("limit is a whole number", field="limit")
    return page_size(int(value))


def _joined(*queries: str) -> str:
    return "&".join(q for q in queries if q)


def _device(value: str) -> UUID | None:
    if not value:
        return None
    try:
        return UUID(value)
    except ValueError:
        raise ValidationFailed("choose a device from the list", field="device") from None


def _entity_type(value: str) -> str | None:
    if not value:
        return None
    if not re.fullmatch(ENTITY_TYPE_PATTERN, value) or len(value) > 64:
        raise ValidationFailed("a kind of record, such as order", field="entity_type")
    return value


def _instant(value: str, name: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed("a date and time, such as 2026-12-05T18:00", field=name) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
