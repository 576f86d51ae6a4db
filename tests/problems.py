"""The one check that a response is an RFC 9457 problem, shared by the API tests."""

from __future__ import annotations

from typing import Any

import httpx

PROBLEM = "application/problem+json"
_ANY_FIELD = object()


def assert_problem(
    response: httpx.Response, status: int, code: str, field: object = _ANY_FIELD
) -> dict[str, Any]:
    """The response is a problem with this status and code (and ``field``, when given)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"https://docs.fynlo.app/errors#{code}"
    assert isinstance(body["title"], str) and body["title"]
    assert body["request_id"] == response.headers["x-request-id"]
    if field is not _ANY_FIELD:
        assert body.get("field") == field
    return body
