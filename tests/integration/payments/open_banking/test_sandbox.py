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
    EUR_MERCHANT_ACCOUNT_ID,
    MERCHANT_ACCOUNT_ID,
    RETURN_URI,
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
                "statement_reference": "Table 7",
            },
        },
        "user": {"name": "Sandbox Diner", "email": "diner@example.com"},
        "metadata": {"payment_id": payment_id or str(uuid.uuid4())},
    }


def with_beneficiary(payload: dict[str, Any], **changes: Any) -> dict[str, Any]:
    method = payload["payment_method"]
    beneficiary = method["beneficiary"] | changes
    return payload | {"payment_method": method | {"beneficiary": beneficiary}}


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


@pytest.mark.parametrize(
    ("user", "bad_fields"),
    [
        ({}, {"user.name", "user.email"}),
        ({"name": "Sandbox Diner"}, {"user.email"}),
        ({"email": "diner@example.com"}, {"user.name"}),
    ],
    ids=["empty", "name-only", "email-only"],
)
async def test_a_create_without_the_payers_name_and_email_or_phone_is_refused(
    open_banking_sandbox: OpenBankingSandbox,
    http: httpx.AsyncClient,
    user: dict[str, str],
    bad_fields: set[str],
) -> None:
    refused = await create(http, open_banking_sandbox, new_payment() | {"user": user}, "k-user")
    by_phone = await create(
        http,
        open_banking_sandbox,
        new_payment() | {"user": {"name": "Sandbox Diner", "phone": "+447700900123"}},
        "k-phone",
    )

    assert refused.status_code == 400
    assert problem_type(refused) == "invalid-parameters"
    assert set(refused.json()["errors"]) == bad_fields
    assert by_phone.status_code == 201
    assert (await open_banking_sandbox.stats())["payments"] == 1


@pytest.mark.parametrize(
    "statement_reference",
    ["This is nineteen ch", "Order #42", "", "Café 7"],
    ids=["too-long", "hash", "empty", "accent"],
)
async def test_a_statement_reference_must_fit_a_uk_bank_statement(
    open_banking_sandbox: OpenBankingSandbox, http: httpx.AsyncClient, statement_reference: str
) -> None:
    payload = with_beneficiary(new_payment(), statement_reference=statement_reference)

    refused = await create(http, open_banking_sandbox, payload, "k-ref")
    longest = with_beneficiary(new_payment(), statement_reference="Order 42/7 - T & 1")
    accepted = await create(http, open_banking_sandbox, longest, "k-ref-ok")

    assert refused.status_code == 400
    assert list(refused.json()["errors"]) == ["payment_method.beneficiary.statement_reference"]
    assert accepted.status_code == 201


async def test_a_payment_goes_only_to_a_merchant_account_in_its_currency(
    open_banking_sandbox: OpenBankingSandbox, http: httpx.AsyncClient
) -> None:
    euros_to_pounds = await create(
        http, open_banking_sandbox, new_payment() | {"currency": "EUR"}, "k-cur"
    )
    nowhere = await create(
        http,
        open_banking_sandbox,
        with_beneficiary(new_payment(), merchant_account_id=str(uuid.uuid4())),
        "k-nowhere",
    )
    euros = await create(
        http,
        open_banking_sandbox,
        with_beneficiary(
            new_payment() | {"currency": "EUR"}, merchant_account_id=EUR_MERCHANT_ACCOUNT_ID
        ),
        "k-eur",
    )

    assert [euros_to_pounds.status_code, nowhere.status_code, euros.status_code] == [400, 400, 201]
    assert list(euros_to_pounds.json()["errors"]) == ["currency"]


def page_query(created: dict[str, Any], return_uri: str = RETURN_URI) -> dict[str, str]:
    return {
        "payment_id": created["id"],
        "resource_token": created["resource_token"],
        "return_uri": return_uri,
    }


async def test_the_hosted_page_walks_bank_consent_and_approval_then_returns_the_payer(
    open_banking_sandbox: OpenBankingSandbox, http: httpx.AsyncClient
) -> None:
    created = (await create(http, open_banking_sandbox, new_payment(1234), "k-page")).json()
    payment_id, token = created["id"], created["resource_token"]
    fields = {"resource_token": token, "return_uri": RETURN_URI}

    banks = await http.get("/payments", params=page_query(created))
    assert banks.status_code == 200
    assert banks.headers["content-type"].startswith("text/html")
    assert "£12.34" in banks.text and "Fynlo Sandbox Restaurant" in banks.text
    assert 'name="viewport"' in banks.text and "<script" not in banks.text
    assert f'<form method="post" action="/payments/{payment_id}/provider">' in banks.text
    assert re.search(rf'name="resource_token" value="{re.escape(token)}"', banks.text)
    assert (await http.get(f"/v3/payments/{payment_id}")).json()["status"] == "authorizing"

    consent = await http.post(
        f"/payments/{payment_id}/provider",
        data=fields | {"provider_id": "mock-payments-gb-redirect"},
    )
    assert "Mock UK Bank" in consent.text
    to_bank = await http.post(f"/payments/{payment_id}/consent", data=fields)
    assert to_bank.status_code == 303
    bank = await http.get(to_bank.headers["location"])
    assert "Table 7" in bank.text  # the statement reference, where the payer's bank shows it
    decided = await http.post(f"/payments/{payment_id}/bank", data=fields | {"decision": "approve"})
    assert decided.status_code == 303
    result = await http.get(decided.headers["location"])

    back = f"{RETURN_URI}?payment_id={payment_id}"
    assert f'href="{back}"' in result.text
    assert f'content="3;url={back}"' in result.text
    settled = (await http.get(f"/v3/payments/{payment_id}")).json()
    assert settled["status"] == "settled"
    assert {"authorized_at", "executed_at", "settled_at", "payment_source"} <= set(settled)
    assert "failure_reason" not in settled
    assert [w["type"] for w in await open_banking_sandbox.webhooks()] == [
        "payment_authorized",
        "payment_executed",
        "payment_creditable",
        "payment_settled",
    ]


async def test_a_payer_who_cancels_on_the_page_or_at_the_bank_fails_the_payment(
    open_banking_sandbox: OpenBankingSandbox, http: httpx.AsyncClient
) -> None:
    on_page = (await create(http, open_banking_sandbox, new_payment(), "k-cancel")).json()
    at_bank = (await create(http, open_banking_sandbox, new_payment(), "k-decline")).json()
    fields = {"return_uri": RETURN_URI}

    await http.get("/payments", params=page_query(on_page))
    cancelled = await http.post(
        f"/payments/{on_page['id']}/cancel",
        data=fields | {"resource_token": on_page["resource_token"]},
    )
    declined = await http.post(
        f"/payments/{at_bank['id']}/bank",
        data=fields | {"resource_token": at_bank["resource_token"], "decision": "decline"},
    )
    late_approval = await http.post(
        f"/payments/{at_bank['id']}/bank",
        data=fields | {"resource_token": at_bank["resource_token"], "decision": "approve"},
    )

    assert cancelled.status_code == declined.status_code == late_approval.status_code == 303
    result = await http.get(cancelled.headers["location"])
    assert "You cancelled this payment" in result.text
    for payment in (on_page, at_bank):
        failed = (await http.get(f"/v3/payments/{payment['id']}")).json()
        assert failed["status"] == "failed"
        assert failed["failure_reason"] == "user_canceled_at_provider"
        assert failed["failure_stage"] in {"authorizing", "authorization_required"}


async def test_the_page_refuses_a_wrong_token_or_an_unregistered_return_uri(
    open_banking_sandbox: OpenBankingSandbox, http: httpx.AsyncClient
) -> None:
    created = (await create(http, open_banking_sandbox, new_payment(), "k-token")).json()
    payment_id = created["id"]

    guessed = await http.get("/payments", params=page_query(created) | {"resource_token": "guess"})
    elsewhere = await http.get(
        "/payments", params=page_query(created, return_uri="https://evil.example/steal")
    )
    approve = await http.post(
        f"/payments/{payment_id}/bank",
        data={"resource_token": "guess", "return_uri": RETURN_URI, "decision": "approve"},
    )
    unknown = await http.get(
        "/payments", params=page_query(created) | {"payment_id": str(uuid.uuid4())}
    )
    old_checkout = await http.get("/checkout", params=page_query(created))

    assert [guessed.status_code, elsewhere.status_code, approve.status_code] == [403, 400, 403]
    assert [unknown.status_code, old_checkout.status_code] == [404, 404]
    assert (await http.get(f"/v3/payments/{payment_id}")).json()["status"] == (
        "authorization_required"
    )


async def test_controls_hold_a_payment_at_each_step_of_settlement(
    open_banking_sandbox: OpenBankingSandbox, http: httpx.AsyncClient
) -> None:
    created = (await create(http, open_banking_sandbox, new_payment(1000), "k-steps")).json()
    payment_id = created["id"]

    held = await open_banking_sandbox.approve(payment_id, until="authorized")
    executed = await open_banking_sandbox.execute(payment_id, hold=True)
    await open_banking_sandbox.advance_clock(600)  # well past settle_seconds, within the token
    still = (await http.get(f"/v3/payments/{payment_id}")).json()
    await open_banking_sandbox.creditable(payment_id)
    await open_banking_sandbox.stall(payment_id)
    settled = await open_banking_sandbox.settle(payment_id)
    await open_banking_sandbox.reverse(payment_id)
    account = (await http.get(f"/v3/merchant-accounts/{MERCHANT_ACCOUNT_ID}")).json()

    assert [held["status"], executed["status"], still["status"]] == [
        "authorized",
        "executed",
        "executed",
    ]
    assert settled["status"] == "settled"
    assert account["current_balance_in_minor"] == 0  # in on settling, out on the reversal
    events = {
        w["type"]: msgspec.json.decode(w["body"]) for w in await open_banking_sandbox.webhooks()
    }
    assert list(events) == [
        "payment_authorized",
        "payment_executed",
        "payment_creditable",
        "payment_settlement_stalled",
        "payment_settled",
        "payment_reversed",
    ]
    assert events["payment_settled"]["merchant_account_id"] == MERCHANT_ACCOUNT_ID
    assert events["payment_settled"]["payment_source"]["account_holder_name"] == "Sandbox Diner"
    assert events["payment_reversed"]["reversed_at"].endswith("Z")
    with pytest.raises(httpx.HTTPStatusError):
        await open_banking_sandbox.reverse(payment_id)


async def test_refunds_wait_for_settlement_and_for_the_merchant_accounts_balance(
    open_banking_sandbox: OpenBankingSandbox, http: httpx.AsyncClient
) -> None:
    created = (await create(http, open_banking_sandbox, new_payment(1000), "k-bal")).json()
    payment_id = created["id"]
    await open_banking_sandbox.approve(payment_id, until="executed")

    async def refund(amount: int, key: str) -> httpx.Response:
        body = msgspec.json.encode({"amount_in_minor": amount, "reference": "Refund"})
        path = f"/v3/payments/{payment_id}/refunds"
        return await http.post(
            path, content=body, headers=signed_headers(open_banking_sandbox, path, body, key)
        )

    too_early = await refund(100, "r-early")
    await open_banking_sandbox.settle(payment_id)
    await open_banking_sandbox.change_balance(-800)
    queued = await refund(600, "r-queued")
    over = await refund(401, "r-over")
    await open_banking_sandbox.advance_clock(60)
    waiting = (await http.get(f"/v3/payments/{payment_id}/refunds/{queued.json()['id']}")).json()
    await open_banking_sandbox.change_balance(500)
    await open_banking_sandbox.advance_clock(5)
    done = (await http.get(f"/v3/payments/{payment_id}/refunds/{queued.json()['id']}")).json()
    accounts = (await http.get("/v3/merchant-accounts")).json()["items"]

    assert (too_early.status_code, problem_type(too_early)) == (400, "invalid-state")
    assert queued.status_code == 201
    assert (over.status_code, problem_type(over)) == (422, "refund-amount-exceeded")
    assert (waiting["status"], done["status"]) == ("pending", "executed")
    gbp = next(a for a in accounts if a["currency"] == "GBP")
    assert gbp["current_balance_in_minor"] == gbp["available_balance_in_minor"] == 100
    assert {a["currency"] for a in accounts} == {"GBP", "EUR"}


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
        await sandbox.approve(created["id"], until="executed")

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


async def test_a_test_can_see_the_payer_the_client_sent_and_settle_idempotently(
    open_banking_sandbox: OpenBankingSandbox, http: httpx.AsyncClient
) -> None:
    created = (await create(http, open_banking_sandbox, new_payment(), "k-inspect")).json()
    payment_id = created["id"]

    shown = (await http.get(f"/v3/payments/{payment_id}")).json()
    inspected = await open_banking_sandbox.control("GET", f"/_sandbox/payments/{payment_id}")
    await open_banking_sandbox.approve(payment_id)  # settles on its own, settle_seconds=0
    settled = await open_banking_sandbox.settle(payment_id)
    again = await open_banking_sandbox.settle(payment_id)

    assert set(shown["user"]) == {"id"}  # TrueLayer shows the user's id only
    assert inspected["user"] | {"id": "x"} == {
        "id": "x",
        "name": "Sandbox Diner",
        "email": "diner@example.com",
    }
    assert settled["status"] == again["status"] == "settled"
    assert len(await open_banking_sandbox.webhooks("payment_settled")) == 1
