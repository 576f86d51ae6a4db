"""The OpenAPI document: served, committed in step with the code, and honest about auth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.errors import PROBLEM_MEDIA_TYPE
from server.openapi_export import openapi_document, render

COMMITTED = Path("shared/schema/openapi.json")
# The only operations open without a bearer token: each added here is a decision.
SIGN_IN_OPERATIONS = {  # credentials travel in the body instead
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/refresh"),
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/devices/enroll"),
    # Providers prove who they are by signing the body (Stripe-Signature, Tl-Signature).
    ("POST", "/api/v1/payments/webhooks/stripe"),
    ("POST", "/api/v1/payments/webhooks/open-banking"),
}
PUBLIC_OPERATIONS = SIGN_IN_OPERATIONS | {
    ("GET", "/.well-known/jwks.json"),
    ("GET", "/health"),
    ("GET", "/ready"),
}
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi_document()


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def effective_security(document: dict[str, Any], operation: dict[str, Any]) -> Any:
    return operation.get("security", document.get("security", []))


async def test_the_document_is_served_as_openapi_3_1(
    client: httpx.AsyncClient, document: dict[str, Any]
) -> None:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200, response.text
    served = response.json()
    assert served["openapi"].startswith("3.1")
    assert served == document, "the export must be the document the server serves"


def test_the_committed_document_matches_the_code(repo_root: Path, document: dict[str, Any]) -> None:
    committed = (repo_root / COMMITTED).read_text(encoding="utf-8")
    assert committed == render(document), f"{COMMITTED} is out of date: run `make openapi`"


def test_every_api_operation_but_signing_in_needs_a_bearer_token(document: dict[str, Any]) -> None:
    assert "bearer" in document["components"]["securitySchemes"]
    unprotected = [
        f"{method} {path}"
        for method, path, operation in operations(document)
        if path.startswith("/api/v1/")
        and (method, path) not in SIGN_IN_OPERATIONS
        and {"bearer": []} not in effective_security(document, operation)
    ]
    assert unprotected == []


def test_public_operations_say_they_need_no_token(document: dict[str, Any]) -> None:
    public = {
        (method, path)
        for method, path, operation in operations(document)
        if effective_security(document, operation) == []
    }
    assert public == PUBLIC_OPERATIONS


def test_every_error_response_is_a_problem(document: dict[str, Any]) -> None:
    problem = {"schema": {"$ref": "#/components/schemas/Problem"}}
    wrong = [
        f"{method} {path} {status}: {json.dumps(response.get('content'))}"
        for method, path, operation in operations(document)
        for status, response in operation["responses"].items()
        if int(status) >= 400 and response.get("content") != {PROBLEM_MEDIA_TYPE: problem}
    ]
    assert wrong == []
