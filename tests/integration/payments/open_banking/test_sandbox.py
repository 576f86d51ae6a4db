"""The TrueLayer-shaped sandbox itself, driven over HTTP on 127.0.0.1 as a client would."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
import pytest
import pytest_asyncio
from litestar import Litestar, Request, Response, post

from server.payments.fakes.keys import generate_key_pair, public_jwk, public_key_pem
from server.payments.fakes.open_banking_sandbox_page import format_amount
from server.payments.fakes.runner import serve_in_thread
from server.payments.providers.open_banking_signing import sign, verify_with_jwk
from tests.fakes.open_banking import (
    MERCHANT_ACCOUNT_ID,
    OpenBankingSandbox,
    start_open_banking_sandbox,
)

WITHIN_SECONDS = 10.0
POLL_SECONDS = 0.05


def new_payment(amount: int = 1234, payment_id: str | None = None) -> dict[str, Any]:
    return {
        "amount_in_minor": amount,
        "currency": "GBP",
        "payment_method": {
            "type": "bank_transfer",
            "provider_selection": {"type": "user_selected"},
            "beneficiary": {
                "type": "merchant_account",
                "merchant_account_id": MERCHANT_ACCOUNT_ID,
                "reference": "Table 7",
            },
        },
        "user": {},
        "metadata": {"payment_id": payment_id or str(uuid.uuid4())},
    }


def signed_headers(
    sandbox: OpenBankingSandbox,
    path: str,
    body: bytes,
    key: str,
    *,
    private_key_pem: str | None = None,
) -> dict[str, str]:
    signature = sign(
        kid=sandbox.client_kid,
        private_key_pem=private_key_pem or sandbox.client_private_key_pem,
        path=path,
        headers={"Idempotency-Key": key},
        body=body.decode(),
    )
    return {"Idempotency-Key": key, "Tl-Signature": signature, "Content-Type": "application/json"}


@pytest_asyncio.fixture
async def http(open_banking_sandbox: OpenBankingSandbox) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the sandbox that holds a live access token."""
    token = await open_banking_sandbox.access_token()
    async with httpx.AsyncClient(
        base_url=open_banking_sandbox.url,
        headers={"Authorization": f"Bearer {token}"},
        timeout=WITHIN_SECONDS,
        trust_env=False,
    ) as client:
        yield client


async def create(
    http: httpx.AsyncClient, sandbox: OpenBankingSandbox, payload: dict[str, Any], key: str
) -> httpx.Response:
    body = msgspec.json.encode(payload)
    headers = signed_headers(sandbox, "/v3/payments", body, key)
    return await http.post("/v3/payments", content=body, headers=headers)


def problem_type(response: httpx.Response) -> str:
    assert response.headers["content-type"].startswith("application/problem+json")
    return str(response.json()["type"]).rsplit("#", 1)[1]


async def test_unsigned_forged_or_tampered_creates_are_refused_and_change_nothing(
    open_banking_sandbox: OpenBankingSandbox, http: httpx.AsyncClient
) -> None:
    body = msgspec.json.encode(new_payment())
    unsigned = await http.post(
        "/v3/payments", content=body, headers={"Idempotency-Key": "k-unsigned"}
    )
    other_key, _ = generate_key_pair()
    forged = await http.post(
        "/v3/payments",
        content=body,
        headers=signed_headers(
            open_banking_sandbox, "/v3/payments", body, "k-forged", private_key_pem=other_key
        ),
    )
    tampered = await http.post(
        "/v3/payments",
        content=body.replace(b"1234", b"1"),
        headers=signed_headers(open_banking_sandbox, "/v3/payments", body, "k-tampered"),
    )
    # A signature that leaves out the Idempotency-Key would let anyone replay it under a new key.
    without_key_signature = sign(
        kid=open_banking_sandbox.client_kid,
        private_key_pem=open_banking_sandbox.client_private_key_pem,
        path="/v3/payments",
        headers={},
        body=body.decode(),
    )
    key_not_signed = await http.post(
        "/v3/payments",
        content=body,
        headers={"Idempotency-Key": "k-loose", "Tl-Signature": without_key_signature},
    )
    assert [r.status_code for r in (unsigned, forged, tampered, key_not_signed)] == [401] * 4
    assert problem_type(unsigned) == "unauthenticated"
    assert problem_type(forged) == "invalid-signature"
    assert (await open_banking_sandbox.stats())["payments"] == 0


async def test_an_idempotency_key_replays_its_first_answer_and_refuses_a_new_body(
    open_banking_sandbox: OpenBankingSandbox, http: httpx.AsyncClient
) -> None:
    payload = new_payment()
    first = await create(http, open_banking_sandbox, payload, "k-1")
    again = await create(http, open_banking_sandbox, payload, "k-1")
    different = await create(http, open_banking_sandbox, new_payment(999), "k-1")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert set(first.json()) == {"id", "user", "resource_token", "status"}
    assert first.json()["status"] == "authorization_required"
    assert different.status_code == 422
    assert problem_type(different) == "idempotency-key-reuse"
    assert (await open_banking_sandbox.stats())["payments"] == 1


async def test_a_create_without_an_idempotency_key_or_with_a_bad_body_is_refused(
    open_banking_sandbox: OpenBankingSandbox, http: httpx.AsyncClient
) -> None:
    body = msgspec.json.encode(new_payment())
    headers = signed_headers(open_banking_sandbox, "/v3/payments", body, "k-2")
    del headers["Idempotency-Key"]
    no_key = await http.post("/v3/payments", content=body, headers=headers)
    dollars = await create(http, open_banking_sandbox, new_payment() | {"currency": "USD"}, "k-3")
    nothing = await create(http, open_banking_sandbox, new_payment(0), "k-4")

    assert no_key.status_code == 401  # the signature names a header that is not there
    assert [dollars.status_code, nothing.status_code] == [400, 400]
    assert problem_type(dollars) == "invalid-parameters"
    assert (await open_banking_sandbox.stats())["payments"] == 0


async def test_the_payment_page_shows_the_amount_and_approving_executes_the_payment(
    open_banking_sandbox: OpenBankingSandbox, http: httpx.AsyncClient
) -> None:
    created = (await create(http, open_banking_sandbox, new_payment(1234), "k-page")).json()
    payment_id, token = created["id"], created["resource_token"]

    page = await http.get("/checkout", params={"payment_id": payment_id, "resource_token": token})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "£12.34" in page.text
    assert "Fynlo Sandbox Restaurant" in page.text and "Table 7" in page.text
    assert 'name="viewport"' in page.text
    for action in ("approve", "decline"):
        assert f'<form method="post" action="/pay/{payment_id}/{action}">' in page.text
    assert re.search(rf'name="resource_token" value="{re.escape(token)}"', page.text)
    opened = (await http.get(f"/v3/payments/{payment_id}")).json()
    assert opened["status"] == "authorizing"
    assert opened["authorization_flow"]["actions"]["next"]["type"] == "redirect"

    result = await http.post(f"/pay/{payment_id}/approve", data={"resource_token": token})
    assert result.status_code == 200
    assert "Payment approved" in result.text and "Paid" in result.text
    executed = (await http.get(f"/v3/payments/{payment_id}")).json()
    assert executed["status"] == "executed"
    assert executed["amount_in_minor"] == 1234
    assert "executed_at" in executed and "failure_reason" not in executed
    assert [w["type"] for w in await open_banking_sandbox.webhooks()] == [
        "payment_authorized",
        "payment_executed",
    ]


async def test_declining_on_the_page_fails_the_payment_at_authorizing(
    open_banking_sandbox: OpenBankingSandbox, http: httpx.AsyncClient
) -> None:
    created = (await create(http, open_banking_sandbox, new_payment(), "k-decline")).json()
    payment_id, token = created["id"], created["resource_token"]
    await http.get("/checkout", params={"payment_id": payment_id, "resource_token": token})

    result = await http.post(f"/pay/{payment_id}/decline", data={"resource_token": token})
    late_approval = await http.post(f"/pay/{payment_id}/approve", data={"resource_token": token})

    assert "Payment declined" in result.text
    assert late_approval.status_code == 422 and "Nothing changed" in late_approval.text
    failed = (await http.get(f"/v3/payments/{payment_id}")).json()
    assert failed["status"] == "failed"
    assert failed["failure_reason"] == "authorization_failed"
    assert failed["failure_stage"] == "authorizing"


async def test_a_payment_id_without_its_resource_token_opens_and_approves_nothing(
    open_banking_sandbox: OpenBankingSandbox, http: httpx.AsyncClient
) -> None:
    created = (await create(http, open_banking_sandbox, new_payment(), "k-token")).json()
    payment_id = created["id"]

    page = await http.get("/checkout", params={"payment_id": payment_id, "resource_token": "guess"})
    approve = await http.post(f"/pay/{payment_id}/approve", data={"resource_token": "guess"})
    unknown = await http.get(
        "/checkout", params={"payment_id": str(uuid.uuid4()), "resource_token": "guess"}
    )

    assert [page.status_code, approve.status_code, unknown.status_code] == [403, 403, 404]
    assert (await http.get(f"/v3/payments/{payment_id}")).json()["status"] == (
        "authorization_required"
    )


def test_amounts_are_shown_from_pence_without_floats() -> None:
    assert format_amount(1234, "GBP") == "£12.34"
    assert format_amount(5, "GBP") == "£0.05"
    assert format_amount(100, "EUR") == "€1.00"
    assert format_amount(123456789, "GBP") == "£1,234,567.89"
    assert format_amount(1999, "PLN") == "19.99 PLN"


async def test_an_abandoned_payment_expires_after_fifteen_sandbox_minutes(
    open_banking_sandbox: OpenBankingSandbox, http: httpx.AsyncClient
) -> None:
    created = (await create(http, open_banking_sandbox, new_payment(), "k-expire")).json()
    payment_id = created["id"]

    await open_banking_sandbox.advance_clock(899)
    assert (await http.get(f"/v3/payments/{payment_id}")).json()["status"] == (
        "authorization_required"
    )
    await open_banking_sandbox.advance_clock(1)
    expired = (await http.get(f"/v3/payments/{payment_id}")).json()

    assert expired["status"] == "failed"
    assert expired["failure_reason"] == "expired"
    assert expired["failure_stage"] == "authorization_required"
    [webhook] = await open_banking_sandbox.webhooks("payment_failed")
    event = msgspec.json.decode(webhook["body"])
    assert event["payment_id"] == payment_id and event["failure_reason"] == "expired"
    assert event["failed_at"] and event["event_version"] == 1
    jwks = (await http.get("/.well-known/jwks.json")).json()
    verify_with_jwk(
        jwk=jwks["keys"][0],
        signature=webhook["headers"]["Tl-Signature"],
        path=open_banking_sandbox.webhook_path,
        headers=webhook["headers"],
        required_headers=["X-TL-Webhook-Timestamp"],
        body=webhook["body"],
    )


async def test_the_jwks_publishes_the_webhook_key_as_p521(
    open_banking_sandbox: OpenBankingSandbox, http: httpx.AsyncClient
) -> None:
    [key] = (await http.get("/.well-known/jwks.json")).json()["keys"]

    assert key["kty"] == "EC" and key["crv"] == "P-521" and key["alg"] == "ES512"
    assert "d" not in key
    assert key == public_jwk(
        public_key_pem(open_banking_sandbox.signing_private_key_pem),
        kid=open_banking_sandbox.signing_kid,
    )


async def test_a_failing_api_call_has_no_effect(
    open_banking_sandbox: OpenBankingSandbox, http: httpx.AsyncClient
) -> None:
    await open_banking_sandbox.faults(fail_next=1)
    refused = await create(http, open_banking_sandbox, new_payment(), "k-fault")
    retried = await create(http, open_banking_sandbox, new_payment(), "k-fault")

    assert refused.status_code == 503
    assert retried.status_code == 201
    assert (await open_banking_sandbox.stats())["payments"] == 1


class Receiver:
    """A webhook endpoint on 127.0.0.1 that answers 500 to its first ``failures`` calls."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.received: list[tuple[dict[str, str], str]] = []

        @post("/hooks/open-banking")
        async def receive(request: Request[Any, Any, Any]) -> Response[bytes]:
            body = await request.body()
            if self.failures > 0:
                self.failures -= 1
                return Response(content=b"", status_code=500)
            self.received.append((dict(request.headers), body.decode()))
            return Response(content=b"", status_code=204)

        self.app = Litestar([receive], openapi_config=None, logging_config=None)


async def test_webhooks_reach_the_webhook_url_signed_for_its_path_despite_a_failure() -> None:
    receiver = Receiver(failures=1)
    receiving = serve_in_thread(receiver.app, name="webhook-receiver")
    sandbox = start_open_banking_sandbox(webhook_url=f"{receiving.url}/hooks/open-banking")
    try:
        provider = sandbox.provider()
        token = await sandbox.access_token()
        async with httpx.AsyncClient(
            base_url=sandbox.url, headers={"Authorization": f"Bearer {token}"}, trust_env=False
        ) as http:
            created = (await create(http, sandbox, new_payment(), "k-deliver")).json()
        await sandbox.approve(created["id"])

        for _ in range(int(WITHIN_SECONDS / POLL_SECONDS)):
            if len(receiver.received) == 2:
                break
            await asyncio.sleep(POLL_SECONDS)
        assert len(receiver.received) == 2, await sandbox.webhooks()

        events = [await provider.verify_webhook(h, body.encode()) for h, body in receiver.received]
        assert [event.state for event in events if event] == ["authorizing", "succeeded"]
        first = (await sandbox.webhooks())[0]
        assert first["delivered"] and first["attempts"] == 2

        again = await sandbox.control("POST", "/_sandbox/webhooks/redeliver", {"id": first["id"]})
        for _ in range(int(WITHIN_SECONDS / POLL_SECONDS)):
            if len(receiver.received) == 3:
                break
            await asyncio.sleep(POLL_SECONDS)
        headers, body = receiver.received[2]
        assert body == first["body"]  # the same event, so the same event_id
        assert again["headers"]["Tl-Signature"] == headers["tl-signature"]
        assert await provider.verify_webhook(headers, body.encode()) == events[0]
    finally:
        await sandbox.aclose()
        sandbox.stop()
        receiving.stop()


def test_the_sandbox_delivers_only_to_localhost() -> None:
    with pytest.raises(ValueError, match=r"127\.0\.0\.1"):
        start_open_banking_sandbox(webhook_url="http://example.com/hooks")
