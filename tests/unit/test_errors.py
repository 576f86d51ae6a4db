from __future__ import annotations

import re
from pathlib import Path

import asyncpg
import pytest
from litestar.exceptions import (
    MethodNotAllowedException,
    NotFoundException,
    ValidationException,
)

from server import edge, errors

DOCS = Path(__file__).resolve().parents[2] / "docs" / "errors.md"


def _all_errors(root: type[errors.FynloError]) -> list[type[errors.FynloError]]:
    found = [root]
    for sub in root.__subclasses__():
        found.extend(_all_errors(sub))
    return found


def test_every_code_is_documented_with_its_status() -> None:
    assert edge.HeadersTooLarge  # refusals made before the app: their codes count too
    rows = dict(re.findall(r"^\| `([a-z_.]+)` \| (\d{3}) \|", DOCS.read_text(), re.MULTILINE))
    for error in _all_errors(errors.FynloError):
        assert rows.get(error.code) == str(error.status), f"document {error.code} in errors.md"


def test_framework_validation_errors_name_the_field() -> None:
    exc = ValidationException(
        extra=[{"message": "Expected `int`, got `str`", "key": "limit", "source": "query"}]
    )
    error = errors.to_fynlo_error(exc)
    assert isinstance(error, errors.ValidationFailed)
    assert error.field == "limit"
    assert error.extra["errors"] == [{"field": "limit", "message": "Expected `int`, got `str`"}]


def test_framework_routing_errors_map_to_stable_codes() -> None:
    assert errors.to_fynlo_error(NotFoundException()).code == "route_not_found"
    assert errors.to_fynlo_error(MethodNotAllowedException()).code == "method_not_allowed"


def test_unknown_exceptions_reveal_nothing() -> None:
    error = errors.to_fynlo_error(RuntimeError("password=hunter2"))
    body = errors.problem_body(error, instance="/x", request_id="r1")
    assert body["status"] == 500 and body["code"] == "internal_error"
    assert "hunter2" not in str(body)


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(111, "Connection refused"),
        OSError("Multiple exceptions: [Errno 111] Connect call failed"),
        TimeoutError(),  # connect, pool acquire or the client's statement timer
        asyncpg.InterfaceError("connection is closed"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed mid-operation"),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"),
        asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator"),
        asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_a_database_outage_is_503_with_retry_after_never_500(exc: Exception) -> None:
    error = errors.to_fynlo_error(exc)
    assert (error.status, error.code) == (503, "dependency_unavailable")
    body = errors.problem_body(error, instance="/x", request_id="r1")
    assert body["dependency"] == "database"
    assert body["retry_after_seconds"] == errors.RETRY_AFTER_SECONDS


def test_a_database_bug_is_still_a_500() -> None:
    # A statement the database refuses for what it says is our bug, not an outage.
    error = errors.to_fynlo_error(asyncpg.exceptions.UndefinedColumnError("no such column"))
    assert error.status == 500
