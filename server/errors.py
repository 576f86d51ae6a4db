"""The one error tree and its one mapping to RFC 9457 problem+json.

Services raise ``FynloError`` subclasses and never HTTP exceptions; ``problem_response`` is
the only place an error becomes a response, for our errors and Litestar's alike.
See https://www.rfc-editor.org/rfc/rfc9457 for the body's members.
"""

from __future__ import annotations

import logging
import re
from typing import Any, ClassVar

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

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
    """Translate any exception into the error tree (unknown ones become a bare 500)."""
    if isinstance(exc, FynloError):
        return exc
    if isinstance(exc, HTTPException):
        return _from_http_exception(exc)
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
    if not isinstance(exc, (FynloError, HTTPException)):
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
