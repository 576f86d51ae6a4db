"""The sandbox and the client, held to TrueLayer's documented shapes rather than to each other.

``tests/fakes/truelayer-reference/payments.json`` records what TrueLayer's docs and SDKs say
(sources in its README). Each test drives the sandbox the way the client does and checks every
answer, webhook and link against that file, so a wrong assumption shared by both cannot pass.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import msgspec
import pytest

from server.payments.fakes.open_banking_sandbox_bank import PaymentStatus
from server.payments.providers import open_banking_webhooks
from server.payments.providers.open_banking import truelayer_hosts
from server.payments.providers.open_banking_signing import sign
from server.payments.providers.open_banking_statuses import UnknownStatus, payment_state
from tests.fakes.open_banking import (
    MERCHANT_ACCOUNT_ID,
    RETURN_URI,
    OpenBankingSandbox,
    new_bank_payment,
)

REFERENCE = json.loads(
    (Path(__file__).parents[3] / "fakes" / "truelayer-reference" / "payments.json").read_text()
)


def conforms(value: dict[str, Any], *shapes: dict[str, Any]) -> None:
    """``value`` has every required field of ``shapes`` with its type, and nothing undocumented."""
    required = {k: v for shape in shapes for k, v in shape.get("required", {}).items()}
    optional = {k: v for shape in shapes for k, v in shape.get("optional", {}).items()}
    missing = set(required) - set(value)
    assert not missing, f"missing documented fields {missing} in {value}"
    undocumented = set(value) - set(required) - set(optional)
    assert not undocumented, f"undocumented fields {undocumented} in {value}"
    for name, kind in (required | optional).items():
        if name in value:
            assert _is(value[name], kind), f"{name}={value[name]!r} is not {kind}"


def _is(value: Any, kind: str) -> bool:
    if kind == "timestamp":
        return isinstance(value, str) and datetime.fromisoformat(value).tzinfo is not None
    checks = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
    }
    return any(checks[part](value) for part in kind.split("|"))


async def api(sandbox: OpenBankingSandbox) -> httpx.AsyncClient:
    token = await sandbox.access_token()
    return httpx.AsyncClient(
        base_url=sandbox.url, headers={"Authorization": f"Bearer {token}"}, trust_env=False
    )


async def test_every_payment_status_has_the_documented_fields(
    open_banking_sandbox: OpenBankingSandbox,
) -> None:
    provider = open_banking_sandbox.provider()
    made = [(await provider.create(new_bank_payment(100))).reference for _ in range(7)]
    waiting, opened, authorized, executed, settled, failed, attempt = made
    await open_banking_sandbox.open_page(opened)
    await open_banking_sandbox.approve(authorized, until="authorized")
    await open_banking_sandbox.approve(executed, until="executed")
    await open_banking_sandbox.approve(settled)
    await open_banking_sandbox.reject(failed)
    open_banking_sandbox.app.state.sandbox.bank.payment(attempt).retry = True
    await open_banking_sandbox.attempt_fail(attempt)

    seen = set()
    async with await api(open_banking_sandbox) as http:
        for reference in made:
            view = (await http.get(f"/v3/payments/{reference}")).json()
            spec = REFERENCE["payment_object"]
            conforms(view, spec, spec["by_status"][view["status"]])
            seen.add(view["status"])
            if "failure_reason" in view:
                assert view["failure_reason"] in REFERENCE["payment_failure_reasons"]
        created = await http.get(f"/v3/payments/{waiting}")
        beneficiary = created.json()["payment_method"]["beneficiary"]
        conforms(beneficiary, REFERENCE["create_payment_request"]["merchant_account_beneficiary"])

    assert seen == set(REFERENCE["payment_statuses"]) == {str(s) for s in PaymentStatus}


def test_the_client_knows_every_documented_status_and_webhook_type() -> None:
    for status in REFERENCE["payment_statuses"]:
        payment_state(status, "provider_rejected")
    with pytest.raises(UnknownStatus):
        payment_state("succeeded")
    documented = set(REFERENCE["webhooks"]["types"])
    handled = set(open_banking_webhooks._PAYMENT_EVENTS) | set(open_banking_webhooks._REFUND_EVENTS)
    assert handled == documented


async def test_every_webhook_has_the_documented_fields(
    open_banking_sandbox: OpenBankingSandbox,
) -> None:
    provider = open_banking_sandbox.provider()
    journey = (await provider.create(new_bank_payment(1000))).reference
    await open_banking_sandbox.approve(journey, until="executed")
    await open_banking_sandbox.creditable(journey)
    await open_banking_sandbox.stall(journey)
    await open_banking_sandbox.settle(journey)
    returned = await provider.refund(journey, refund_id=uuid.uuid4(), amount=100, currency="GBP")
    await open_banking_sandbox.fail_refund(returned.reference)
    await provider.refund(journey, refund_id=uuid.uuid4(), amount=100, currency="GBP")
    await open_banking_sandbox.advance_clock(5)
    await open_banking_sandbox.reverse(journey)
    await open_banking_sandbox.decline((await provider.create(new_bank_payment())).reference)

    webhooks = await open_banking_sandbox.webhooks()
    spec = REFERENCE["webhooks"]
    for webhook in webhooks:
        body = msgspec.json.decode(webhook["body"])
        conforms(body, spec["common"], spec["types"][body["type"]])
        assert set(spec["headers"]) <= set(webhook["headers"])
    assert {w["type"] for w in webhooks} == set(spec["types"])


async def test_refunds_merchant_accounts_and_transactions_have_the_documented_fields(
    open_banking_sandbox: OpenBankingSandbox,
) -> None:
    provider = open_banking_sandbox.provider()
    reference = (await provider.create(new_bank_payment(1000))).reference
    await open_banking_sandbox.approve(reference)
    refund = await provider.refund(reference, refund_id=uuid.uuid4(), amount=300, currency="GBP")
    await open_banking_sandbox.advance_clock(5)

    async with await api(open_banking_sandbox) as http:
        one = (await http.get(f"/v3/payments/{reference}/refunds/{refund.reference}")).json()
        listed = (await http.get(f"/v3/payments/{reference}/refunds")).json()["items"]
        accounts = (await http.get("/v3/merchant-accounts")).json()
        account = (await http.get(f"/v3/merchant-accounts/{MERCHANT_ACCOUNT_ID}")).json()
        page = (
            await http.get(
                f"/v3/merchant-accounts/{MERCHANT_ACCOUNT_ID}/transactions",
                params={"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"},
            )
        ).json()

    for view in (one, *listed):
        conforms(view, REFERENCE["refund_object"])
        assert view["status"] in REFERENCE["refund_statuses"]
    conforms(accounts, REFERENCE["merchant_account_list"])
    for item in (*accounts["items"], account):
        conforms(item, REFERENCE["merchant_account"])
    conforms(page, REFERENCE["transaction_list"])
    assert {t["type"] for t in page["items"]} == {"merchant_account_payment", "refund"}
    for transaction in page["items"]:
        spec = REFERENCE["transactions"][transaction["type"]]
        conforms(transaction, spec)
        assert transaction["status"] in spec["statuses"]


async def test_refusals_are_documented_problems(open_banking_sandbox: OpenBankingSandbox) -> None:
    body = msgspec.json.encode(
        {
            "amount_in_minor": 100,
            "currency": "GBP",
            "payment_method": {
                "type": "bank_transfer",
                "provider_selection": {"type": "user_selected"},
                "beneficiary": {
                    "type": "merchant_account",
                    "merchant_account_id": MERCHANT_ACCOUNT_ID,
                },
            },
            "user": {},
        }
    )
    signature = sign(
        kid=open_banking_sandbox.client_kid,
        private_key_pem=open_banking_sandbox.client_private_key_pem,
        path="/v3/payments",
        headers={"Idempotency-Key": "k-problem"},
        body=body.decode(),
    )
    async with await api(open_banking_sandbox) as http:
        unknown = await http.get(f"/v3/payments/{uuid.uuid4()}")
        invalid = await http.post(
            "/v3/payments",
            content=body,
            headers={"Idempotency-Key": "k-problem", "Tl-Signature": signature},
        )
    spec = REFERENCE["problem"]

    for answer in (unknown, invalid):
        assert answer.headers["content-type"].startswith(spec["content_type"])
        conforms(answer.json(), spec)
        assert answer.json()["type"].startswith(spec["type_prefix"])
    documented = spec["invalid_parameters"]
    assert invalid.status_code == documented["status"]
    assert invalid.json()["type"].endswith("#" + documented["type_suffix"])
    conforms(invalid.json(), spec, documented)


async def test_the_hosted_page_link_and_the_way_back_are_the_documented_shape(
    open_banking_sandbox: OpenBankingSandbox,
) -> None:
    created = await open_banking_sandbox.provider().create(new_bank_payment())
    spec = REFERENCE["hosted_page"]

    link = urlsplit(created.link or "")
    query = parse_qs(link.query)
    assert link.path == spec["path"]
    assert sorted(query) == sorted(spec["query"])
    fields = {"resource_token": query["resource_token"][0], "return_uri": RETURN_URI}
    async with httpx.AsyncClient(trust_env=False, follow_redirects=True) as browser:
        page = await browser.get(created.link or "")
        cancelled = await browser.post(
            f"{open_banking_sandbox.url}/payments/{created.reference}/cancel", data=fields
        )
    back = urlsplit(RETURN_URI + "?" + f"payment_id={created.reference}")
    assert page.status_code == 200
    assert f'href="{back.geturl()}"' in cancelled.text
    assert sorted(parse_qs(back.query)) == spec["return_query"]


def test_truelayer_hosts_match_the_reference() -> None:
    for environment in ("sandbox", "live"):
        hosts = REFERENCE["hosts"][environment]
        assert truelayer_hosts(environment) == (
            hosts["api_base"],
            hosts["auth_base"],
            hosts["payment_page_base"],
        )
