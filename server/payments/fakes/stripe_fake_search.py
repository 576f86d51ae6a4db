"""``GET /v1/payment_intents/search``: the part of Stripe's search query language we use.

Stripe's search (docs.stripe.com/search, docs.stripe.com/api/payment_intents/search) takes a
``query`` of clauses ``field:value``, string values in quotes, joined by ``AND`` or ``OR``
(at most 10), and answers a ``search_result``: ``object``, ``data``, ``has_more``,
``next_page`` (the cursor to send back as ``page``, null on the last page) and ``url``;
``limit`` is 1 to 100, 10 by default (``PaymentIntentSearchParams``).

The fake understands ``metadata['key']:'value'`` and ``status:'value'`` (either quote),
joined by `` AND ``; any other query is refused with a 400 ``invalid_request_error`` on
``query``, so a server relying on more of the language fails here first. Unlike Stripe,
whose search index lags writes by up to a minute ("don't use search for read-after-write
flows"), the fake finds an intent as soon as it exists.
"""

from __future__ import annotations

import base64
import json
import re

import stripe.params as sdk

from server.payments.fakes import stripe_fake_params as sdk_params
from server.payments.fakes.stripe_fake_forms import Obj, StripeFakeError, integer, strings, text
from server.payments.fakes.stripe_fake_ledger import Ledger

MAX_CLAUSES = 10
_CLAUSE = re.compile(
    r"""(?:metadata\[(?P<kq>['"])(?P<key>[^'"\[\]]+)(?P=kq)\]|(?P<field>status))"""
    r""":(?P<vq>['"])(?P<value>[^'"]*)(?P=vq)"""
)
URL = "/v1/payment_intents/search"


def search_payment_intents(ledger: Ledger, params: Obj, _: str) -> Obj:
    sdk_params.check(params, sdk.PaymentIntentSearchParams)
    query = text(params, "query")
    if not query:
        raise StripeFakeError(
            400, "Missing required param: query.", code="parameter_missing", param="query"
        )
    wanted = _clauses(query)
    limit = integer(params, "limit", default=10)
    if not 1 <= limit <= 100:
        raise StripeFakeError(400, "limit must be between 1 and 100", param="limit")
    start = _offset(text(params, "page"), query)
    matches = [
        found
        for found in reversed(list(ledger.objects.values()))
        if found["object"] == "payment_intent" and all(_holds(found, *clause) for clause in wanted)
    ]
    page = matches[start : start + limit]
    more = start + limit < len(matches)
    inner = {"expand": [path.removeprefix("data.") for path in strings(params, "expand")]}
    return {
        "object": "search_result",
        "data": [ledger.render(item, inner) for item in page],
        "has_more": more,
        "next_page": _cursor(start + limit, query) if more else None,
        "url": URL,
    }


def _clauses(query: str) -> list[tuple[str, str | None, str]]:
    """(field, metadata key, value) per clause; anything else is Stripe's invalid query."""
    clauses = []
    for part in query.split(" AND "):
        found = _CLAUSE.fullmatch(part.strip())
        if found is None:
            raise _invalid(query)
        field = "metadata" if found["key"] is not None else found["field"]
        clauses.append((field, found["key"], found["value"]))
    if len(clauses) > MAX_CLAUSES:
        raise _invalid(query)
    return clauses


def _holds(intent: Obj, field: str, key: str | None, value: str) -> bool:
    if field == "metadata":
        return bool(intent["metadata"].get(key) == value)
    return bool(intent[field] == value)


def _cursor(offset: int, query: str) -> str:
    raw = json.dumps({"offset": offset, "query": query}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _offset(page: str | None, query: str) -> int:
    if page is None:
        return 0
    try:
        cursor = json.loads(base64.urlsafe_b64decode(page.encode()))
        if cursor["query"] == query and isinstance(cursor["offset"], int):
            return int(cursor["offset"])
    except (ValueError, KeyError, TypeError):
        pass
    raise StripeFakeError(400, f"Invalid page: {page}", param="page")


def _invalid(query: str) -> StripeFakeError:
    return StripeFakeError(
        400,
        f"Invalid query: {query!r}. The fake Stripe understands metadata['key']:'value' and "
        "status:'value' clauses joined by AND (docs.stripe.com/search#search-query-language).",
        param="query",
    )
