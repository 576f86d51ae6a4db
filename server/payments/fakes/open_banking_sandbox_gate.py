"""What every sandbox API call passes through: faults, access tokens, signatures, idempotency.

Every ``/v3`` call needs a live ``Authorization: Bearer`` token from ``/connect/token``
(``open_banking_sandbox_auth``). TrueLayer requires a ``Tl-Signature`` over the method, path,
``Idempotency-Key`` and body of each POST, and replays the first response for a repeated key:
the same key with a different body is ``422 Idempotency-Key Reuse``, a repeat while the first
is still running is ``409 Idempotency-Key Concurrency Conflict``
(docs.truelayer.com/docs/idempotency-for-payment-requests).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
from litestar import Request, Response

from server.payments.fakes.open_banking_sandbox_auth import AccessTokens, TokenRefusal
from server.payments.fakes.open_banking_sandbox_bank import Bank, SandboxRefusal
from server.payments.fakes.open_banking_sandbox_webhooks import Outbox
from server.payments.providers.open_banking_signing import (
    SignatureInvalid,
    read_header,
    verify_with_public_key,
)

IDEMPOTENCY_HEADER = "Idempotency-Key"
ERROR_TYPES = "https://docs.truelayer.com/docs/error-types"
MAX_DELAY_SECONDS = 30.0

Work = Callable[[bytes], tuple[int, Any]]
"""One API call's effect: the request body in, (status, JSON payload) out."""


@dataclass
class Faults:
    """Failures a test asks for: refuse the next calls, or answer them late."""

    fail_next: int = 0
    delay_next: int = 0
    delay_seconds: float = 0.0
    delay_path: str = ""
    """Only calls whose path matches this regular expression (``re.search``) count towards
    ``delay_next``: ``/actions/cancel$`` loses a cancel's answer and nothing else."""
    held: int = 0
    """Answers being held back right now: 0 once every delayed answer has gone."""

    def to_json(self) -> dict[str, Any]:
        return {
            "fail_next": self.fail_next,
            "delay_next": self.delay_next,
            "delay_seconds": self.delay_seconds,
            "delay_path": self.delay_path,
            "held": self.held,
        }


@dataclass
class _Answer:
    fingerprint: str
    status: int
    content: bytes
    media_type: str


@dataclass
class Sandbox:
    """Everything one sandbox app holds, kept on ``app.state.sandbox``."""

    bank: Bank
    outbox: Outbox
    tokens: AccessTokens
    client_public_key_pem: str
    client_kid: str
    jwks: dict[str, Any]
    payee_name: str
    transactions_page_size: int
    return_uris: frozenset[str]
    """The return URIs registered for this client: the hosted page sends payers nowhere else."""
    public_url: str | None = None
    faults: Faults = field(default_factory=Faults)
    api_requests: int = 0
    _answers: dict[tuple[str, str], _Answer] = field(default_factory=dict)
    _in_flight: set[tuple[str, str]] = field(default_factory=set)

    def set_public_url(self, url: str) -> None:
        self.public_url = url.rstrip("/")
        self.outbox.jku = f"{self.public_url}/.well-known/jwks.json"

    async def unsigned(
        self, request: Request[Any, Any, Any], work: Callable[[], tuple[int, Any]]
    ) -> Response[bytes]:
        """A read: faults and the access token apply, no signature or idempotency key."""
        if self._take_failure():
            return _unavailable()
        try:
            self.tokens.check(request.headers.get("authorization"))
        except TokenRefusal as refusal:
            return _challenge(refusal)
        answer = _run(lambda _: work(), b"", fingerprint="")
        await self._take_delay(request.url.path)
        return _respond(answer)

    async def signed(self, request: Request[Any, Any, Any], work: Work) -> Response[bytes]:
        """A write: checked, run once per idempotency key, its answer replayed after that."""
        if self._take_failure():
            return _unavailable()
        try:
            self.tokens.check(request.headers.get("authorization"))
        except TokenRefusal as refusal:
            return _challenge(refusal)
        body = await request.body()
        slot = (request.url.path, request.headers.get(IDEMPOTENCY_HEADER, ""))
        fingerprint = hashlib.sha256(body).hexdigest()
        try:
            self._check_signature(request.url.path, dict(request.headers.items()), body)
            earlier = self._earlier_answer(slot, fingerprint)
        except SandboxRefusal as refusal:
            return problem(refusal)
        if earlier is not None:
            return _respond(earlier)
        self._in_flight.add(slot)
        try:
            answer = _run(work, body, fingerprint=fingerprint)
            try:
                # The effect has happened; a delayed answer is one a short-timeout client
                # loses, and a retry meanwhile is a concurrent one.
                await self._take_delay(request.url.path)
            finally:
                self._answers[slot] = answer
        finally:
            self._in_flight.discard(slot)
        return _respond(answer)

    def _check_signature(self, path: str, headers: dict[str, str], body: bytes) -> None:
        signature = headers.get("tl-signature")
        if not signature:
            raise SandboxRefusal(401, "unauthenticated", "Unauthenticated", "Tl-Signature missing")
        try:
            if read_header(signature).kid != self.client_kid:
                raise SignatureInvalid("unknown kid")
            verify_with_public_key(
                public_key_pem=self.client_public_key_pem,
                signature=signature,
                path=path,
                headers=headers,
                required_headers=[IDEMPOTENCY_HEADER],
                body=body.decode("utf-8"),
            )
        except (SignatureInvalid, UnicodeDecodeError) as exc:
            raise SandboxRefusal(
                401, "invalid-signature", "Invalid Request Signature", str(exc)
            ) from exc
        if not headers.get(IDEMPOTENCY_HEADER.lower()):
            raise SandboxRefusal(
                400, "invalid-parameters", "Invalid Parameters", "Idempotency-Key is empty"
            )

    def _earlier_answer(self, slot: tuple[str, str], fingerprint: str) -> _Answer | None:
        """The answer to replay for this key, None for a new key; refuses a conflicting use."""
        if slot in self._in_flight:
            raise SandboxRefusal(
                409,
                "idempotency-key-concurrency-conflict",
                "Idempotency-Key Concurrency Conflict",
                "a request with this key is still being processed",
            )
        earlier = self._answers.get(slot)
        if earlier is not None and earlier.fingerprint != fingerprint:
            raise SandboxRefusal(
                422,
                "idempotency-key-reuse",
                "Idempotency-Key Reuse",
                "this key was used before with a different request",
            )
        return earlier

    def _take_failure(self) -> bool:
        self.api_requests += 1
        if self.faults.fail_next > 0:
            self.faults.fail_next -= 1
            return True
        return False

    async def _take_delay(self, path: str) -> None:
        if self.faults.delay_next > 0 and re.search(self.faults.delay_path, path):
            self.faults.delay_next -= 1
            self.faults.held += 1
            try:
                await asyncio.sleep(min(self.faults.delay_seconds, MAX_DELAY_SECONDS))
            finally:
                self.faults.held -= 1


def sandbox_of(request: Request[Any, Any, Any]) -> Sandbox:
    sandbox = request.app.state.sandbox
    if not isinstance(sandbox, Sandbox):
        raise TypeError("app.state.sandbox is not an open banking sandbox")
    return sandbox


def problem(refusal: SandboxRefusal) -> Response[bytes]:
    """A TrueLayer-shaped problem document (RFC 9457 with a ``trace_id``)."""
    return _respond(_problem_answer(refusal))


def json_response(status: int, payload: Any) -> Response[bytes]:
    return Response(
        content=msgspec.json.encode(payload), status_code=status, media_type="application/json"
    )


def _run(work: Work, body: bytes, *, fingerprint: str) -> _Answer:
    try:
        status, payload = work(body)
    except SandboxRefusal as refusal:
        answer = _problem_answer(refusal)
        answer.fingerprint = fingerprint
        return answer
    content = b"" if payload is None else msgspec.json.encode(payload)
    return _Answer(fingerprint, status, content, "application/json")


def _problem_answer(refusal: SandboxRefusal) -> _Answer:
    document: dict[str, Any] = {
        "type": f"{ERROR_TYPES}#{refusal.slug}",
        "title": refusal.title,
        "status": refusal.status,
        "detail": refusal.detail,
        "trace_id": uuid.uuid4().hex,
    }
    if refusal.errors is not None:
        document["errors"] = refusal.errors
    return _Answer("", refusal.status, msgspec.json.encode(document), "application/problem+json")


def _challenge(refusal: TokenRefusal) -> Response[bytes]:
    response = problem(refusal)
    response.headers["WWW-Authenticate"] = refusal.challenge
    return response


def _unavailable() -> Response[bytes]:
    return problem(
        SandboxRefusal(
            503, "service-unavailable", "Service Unavailable", "fault injected by the test"
        )
    )


def _respond(answer: _Answer) -> Response[bytes]:
    return Response(content=answer.content, status_code=answer.status, media_type=answer.media_type)
