"""The one error tree and its one mapping to RFC 9457 problem+json.

Services raise ``FynloError`` subclasses and never HTTP exceptions; ``problem_response`` is
the only place an error becomes a response, for our errors and Litestar's alike.
See https://www.rfc-editor.org/rfc/rfc9457 for the body's members.
"""

from __future__ import annotations

import logging
import re
from typing import Any, ClassVar

import asyncpg
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import Receive, Scope, Send

from server.logs import REQUEST_ID_HEADER, ensure_request_id

log = logging.getLogger("fynlo.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://docs.fynlo.app/errors#"


class FynloError(Exception):
    """Root of every error the server raises on purpose; ``code`` is stable and documented."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "Internal server error"

    def __init__(
        self, detail: str | None = None, *, field: str | None = None, **extra: Any
    ) -> None:
        self.detail = detail or self.title
        self.field = field
        self.extra = extra
        super().__init__(self.detail)


class ClientError(FynloError):
    """The request cannot be served as sent; retrying it unchanged will not help."""

    status = 400
    code = "bad_request"
    title = "Bad request"


class ValidationFailed(ClientError):
    """A field of the request is missing, malformed or out of range."""

    code = "validation_failed"
    title = "The request is not valid"


class NotAuthenticated(ClientError):
    status = 401
    code = "not_authenticated"
    title = "Authentication required"


class Forbidden(ClientError):
    status = 403
    code = "forbidden"
    title = "Not allowed"


class NotFound(ClientError):
    """Missing, or owned by another restaurant: the two must be indistinguishable."""

    status = 404
    code = "not_found"
    title = "Not found"


class RouteNotFound(NotFound):
    code = "route_not_found"
    title = "No such route"


class MethodNotAllowed(ClientError):
    status = 405
    code = "method_not_allowed"
    title = "Method not allowed"


class Conflict(ClientError):
    status = 409
    code = "conflict"
    title = "Conflicts with the current state"


class PayloadTooLarge(ClientError):
    status = 413
    code = "payload_too_large"
    title = "Request body too large"


class RateLimited(ClientError):
    status = 429
    code = "rate_limited"
    title = "Too many requests"


class ServerError(FynloError):
    """Our fault; the client may retry later."""


class Unavailable(ServerError):
    status = 503
    code = "unavailable"
    title = "Service unavailable"


# Seconds a client is asked to wait (``Retry-After``) before retrying after a 503 of ours: a
# database blip or restart is usually over by then, and iPads add their own backoff.
RETRY_AFTER_SECONDS = 5


class DependencyUnavailable(Unavailable):
    """A service the server needs (``dependency``) did not answer in time or refused."""

    code = "dependency_unavailable"
    title = "A service the server depends on is unavailable"


class DeadlineExceeded(Unavailable):
    """The request ran past ``FYNLO_REQUEST_TIMEOUT_SECONDS``; its transaction rolled back."""

    code = "deadline_exceeded"
    title = "The request took too long"


# What a database that is down, restarting, overloaded or unreachable raises through asyncpg:
# sockets (refused, reset, connect timeout, pool acquire timeout: TimeoutError is an OSError),
# a connection lost mid-statement (InterfaceError, class 08), the server's own cuts (class 57:
# statement_timeout, shutdown, "the database system is starting up") and class 53300.
# In a request, sockets are only the database's: the providers' and Redis's clients raise
# their own types.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    OSError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.IdleInTransactionSessionTimeoutError,
)


def database_unavailable(detail: str = "the database did not answer") -> DependencyUnavailable:
    return DependencyUnavailable(
        detail, dependency="database", retry_after_seconds=RETRY_AFTER_SECONDS
    )


# Litestar raises its own exceptions for routing and decoding; each maps to one of ours.
_HTTP_STATUS_TO_ERROR: dict[int, type[FynloError]] = {
    400: ValidationFailed,
    401: NotAuthenticated,
    403: Forbidden,
    404: RouteNotFound,
    405: MethodNotAllowed,
    413: PayloadTooLarge,
    429: RateLimited,
    503: Unavailable,
}


def _from_http_exception(exc: HTTPException) -> FynloError:
    error_type = _HTTP_STATUS_TO_ERROR.get(exc.status_code)
    if error_type is None:
        error = ClientError(exc.detail) if exc.status_code < 500 else ServerError()
        return error
    if isinstance(exc, ValidationException):
        problems = exc.extra if isinstance(exc.extra, list) else []
        fields = [_field_of(p) for p in problems if isinstance(p, dict)]
        message = problems[0].get("message") if problems and isinstance(problems[0], dict) else None
        return ValidationFailed(
            str(message or exc.detail),
            field=fields[0] if fields else None,
            errors=[
                {"field": _field_of(p), "message": str(p.get("message", ""))}
                for p in problems
                if isinstance(p, dict)
            ],
        )
    if error_type is RouteNotFound and exc.detail not in ("", "Not Found"):
        # A handler's own 404 (e.g. a path parameter that does not parse) is still "not found".
        return NotFound()
    return error_type()


# msgspec reports an unknown or missing member at the object holding it (``$`` for the body,
# which Litestar calls ``data``) and names the member only in its message.
_MEMBER_IN_MESSAGE = re.compile(r"(?:unknown|missing required) field `([^`]+)`")
_PATH_IN_MESSAGE = re.compile(r" - at `\$\.?([^`]*)`$")


def field_in_message(message: str) -> str | None:
    """The body field a msgspec message points at: ``- at `$.lines[0].quantity` `` and the like."""
    path = _PATH_IN_MESSAGE.search(message)
    member = _MEMBER_IN_MESSAGE.search(message)
    parts = [found[1] for found in (path, member) if found is not None and found[1]]
    return ".".join(parts) or None


def message_without_path(message: str) -> str:
    return _PATH_IN_MESSAGE.sub("", message)


def _field_of(problem: dict[str, Any]) -> str:
    key = problem.get("key")
    # Litestar gives query, path and header sources as a ParamType enum: use its value.
    source = getattr(problem.get("source"), "value", problem.get("source"))
    if source in (None, "body"):
        found = field_in_message(str(problem.get("message", "")))
        return found or (str(key) if key not in (None, "", "data") else "body")
    # Query and path parameters are named bare, as our own checks name them (``limit``).
    return str(key) if key not in (None, "") else str(source)


def to_fynlo_error(exc: Exception) -> FynloError:
    """Translate any exception into the error tree: a database outage is a 503, unknown
    exceptions a bare 500."""
    if isinstance(exc, FynloError):
        return exc
    if isinstance(exc, HTTPException):
        return _from_http_exception(exc)
    if isinstance(exc, DATABASE_UNAVAILABLE):
        # An outage, not a bug: 503 and a time to come back, never 500.
        return database_unavailable(f"the database did not answer ({type(exc).__name__})")
    return ServerError()


def problem_body(error: FynloError, *, instance: str, request_id: str | None) -> dict[str, Any]:
    """The RFC 9457 document for ``error``."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + error.code,
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        "code": error.code,
        "instance": instance,
    }
    if error.field is not None:
        body["field"] = error.field
    if request_id is not None:
        body["request_id"] = request_id
    body.update(error.extra)
    return body


def problem_response(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """The single exception handler registered on the app."""
    error = to_fynlo_error(exc)
    request_id = ensure_request_id()
    where = {"path": request.url.path, "method": request.method}
    if not isinstance(exc, (FynloError, HTTPException, *DATABASE_UNAVAILABLE)):
        # Details stay in the logs; the client gets the correlation id only.
        log.error("unhandled error", exc_info=exc, extra=where)
    elif error.status >= 500:
        log.warning("%s: %s", error.code, error.detail, extra=where)
    # Requests that matched no route skip the middleware, so the id goes on here too.
    headers: dict[str, str] = {REQUEST_ID_HEADER: request_id}
    if isinstance(exc, HTTPException) and exc.headers:
        headers.update(
            {k: v for k, v in exc.headers.items() if k.lower() in ("allow", "retry-after")}
        )
    retry_after = error.extra.pop("retry_after", None) if isinstance(error, RateLimited) else None
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    if "retry_after_seconds" in error.extra:  # worth retrying: say when, in the body and header
        headers["Retry-After"] = str(error.extra["retry_after_seconds"])
    return Response(
        content=problem_body(error, instance=request.url.path, request_id=request_id),
        status_code=error.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


async def send_problem(scope: Scope, receive: Receive, send: Send, exc: Exception) -> None:
    """Answer with ``problem_response`` from a middleware, where Litestar's handler cannot:
    past the handler (its response held, not yet sent) or instead of it (a deadline)."""
    request: Request[Any, Any, Any] = Request(scope, receive)
    response = problem_response(request, exc)
    await response.to_asgi_response(app=None, request=request)(scope, receive, send)
