"""OAuth client credentials: the sandbox's token endpoint and checks, and the provider's cache."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import msgspec
import pytest

from server.payments.fakes.keys import generate_key_pair
from server.payments.providers.base import NewPayment, ProviderRefused, ProviderUnavailable
from server.payments.providers.open_banking_signing import sign
from server.payments.states import PaymentState
from tests.fakes.open_banking import MERCHANT_ACCOUNT_ID, OpenBankingSandbox, new_bank_payment

ONE_HOUR = 3600


def new_payment(amount: int = 1234) -> NewPayment:
    return new_bank_payment(amount, reference="Order 9")


def credentials(sandbox: OpenBankingSandbox, **changes: str) -> dict[str, str]:
    form = {
        "grant_type": "client_credentials",
        "client_id": sandbox.client_id,
        "client_secret": sandbox.client_secret,
        "scope": "payments",
    }
    return form | changes


class MovableClock:
    """The provider's idea of now, moved by the test instead of by sleeping."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


async def token_answer(sandbox: OpenBankingSandbox, form: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=sandbox.url, trust_env=False) as http:
        return await http.post("/connect/token", data=form)


async def test_the_token_endpoint_issues_an_hour_long_bearer_token_for_payments(
    open_banking_sandbox: OpenBankingSandbox,
) -> None:
    answer = await token_answer(
        open_banking_sandbox, credentials(open_banking_sandbox, scope="payments offline_access")
    )

    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert set(body) == {"access_token", "expires_in", "token_type", "scope"}
    assert (body["expires_in"], body["token_type"]) == (ONE_HOUR, "Bearer")
    assert "payments" in body["scope"].split()
    assert (await open_banking_sandbox.stats())["tokens_issued"] == 1


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"client_secret": "not-the-secret"}, 401, "invalid_client"),
        ({"client_id": "someone-else"}, 401, "invalid_client"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"scope": "accounts"}, 400, "invalid_scope"),
    ],
    ids=["wrong-secret", "unknown-client", "other-grant", "no-payments-scope"],
)
async def test_the_token_endpoint_refuses_bad_requests_with_oauth_errors(
    open_banking_sandbox: OpenBankingSandbox, change: dict[str, str], status: int, error: str
) -> None:
    answer = await token_answer(open_banking_sandbox, credentials(open_banking_sandbox, **change))

    assert answer.status_code == status
    assert answer.json()["error"] == error
    assert "access_token" not in answer.json()
    assert (await open_banking_sandbox.stats())["tokens_issued"] == 0


async def test_api_calls_without_a_live_token_are_401_and_change_nothing(
    open_banking_sandbox: OpenBankingSandbox,
) -> None:
    token = await open_banking_sandbox.access_token()
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
                    "reference": "Table 1",
                },
            },
        }
    )

    def signed(key: str, authorization: str | None) -> dict[str, str]:
        signature = sign(
            kid=open_banking_sandbox.client_kid,
            private_key_pem=open_banking_sandbox.client_private_key_pem,
            path="/v3/payments",
            headers={"Idempotency-Key": key},
            body=body.decode(),
        )
        headers = {"Idempotency-Key": key, "Tl-Signature": signature}
        return headers | ({"Authorization": authorization} if authorization else {})

    async with httpx.AsyncClient(base_url=open_banking_sandbox.url, trust_env=False) as http:
        missing = await http.post("/v3/payments", content=body, headers=signed("k-1", None))
        wrong = await http.post("/v3/payments", content=body, headers=signed("k-2", "Bearer x"))
        basic = await http.post("/v3/payments", content=body, headers=signed("k-3", "Basic x"))
        read = await http.get(f"/v3/payments/{uuid.uuid4()}")
        good = {"Authorization": f"Bearer {token}"}
        known = await http.get(f"/v3/payments/{uuid.uuid4()}", headers=good)
        await open_banking_sandbox.advance_clock(ONE_HOUR)
        expired = await http.get(f"/v3/payments/{uuid.uuid4()}", headers=good)

    refused = [missing, wrong, basic, read, expired]
    assert [r.status_code for r in refused] == [401] * 5
    assert all(r.json()["type"].endswith("#unauthenticated") for r in refused)
    assert missing.headers["www-authenticate"] == 'Bearer realm="payments"'
    assert 'error="invalid_token"' in expired.headers["www-authenticate"]
    assert known.status_code == 404  # past the token check, to the (absent) payment
    assert (await open_banking_sandbox.stats())["payments"] == 0


async def test_the_provider_fetches_one_token_and_reuses_it(
    open_banking_sandbox: OpenBankingSandbox,
) -> None:
    provider = open_banking_sandbox.provider()

    created = await provider.create(new_payment())
    await provider.status(created.reference)
    await asyncio.gather(*(provider.status(created.reference) for _ in range(5)))
    await open_banking_sandbox.approve(created.reference)
    await provider.refund(created.reference, refund_id=uuid.uuid4(), amount=100, currency="GBP")
    now = datetime.now(UTC)
    await provider.ledger(now - timedelta(hours=1), now + timedelta(hours=1))

    stats = await open_banking_sandbox.stats()
    assert stats["tokens_issued"] == provider.credentials.fetched == 1
    assert stats["api_requests"] == 10  # the ledger reads the GBP and the EUR account


async def test_the_provider_renews_its_token_shortly_before_it_expires(
    open_banking_sandbox: OpenBankingSandbox,
) -> None:
    clock = MovableClock()
    provider = open_banking_sandbox.provider(clock=clock)
    created = await provider.create(new_payment())

    clock.offset = timedelta(seconds=ONE_HOUR - 61)
    await provider.status(created.reference)
    issued_before_expiry = (await open_banking_sandbox.stats())["tokens_issued"]
    clock.offset = timedelta(seconds=ONE_HOUR - 60)
    await provider.status(created.reference)
    await provider.status(created.reference)

    assert issued_before_expiry == 1
    assert (await open_banking_sandbox.stats())["tokens_issued"] == 2


async def test_a_token_the_api_refuses_is_replaced_once_and_the_call_succeeds(
    open_banking_sandbox: OpenBankingSandbox,
) -> None:
    provider = open_banking_sandbox.provider()
    created = await provider.create(new_payment())
    # The sandbox's clock passes the hour; the provider's clock does not know it.
    await open_banking_sandbox.advance_clock(ONE_HOUR)

    status = await provider.status(created.reference)
    after = await provider.status(created.reference)

    assert status.state is after.state is PaymentState.expired
    assert (await open_banking_sandbox.stats())["tokens_issued"] == 2


async def test_a_refusal_that_a_new_token_does_not_cure_is_retried_only_once(
    open_banking_sandbox: OpenBankingSandbox,
) -> None:
    not_our_key, _ = generate_key_pair()
    provider = open_banking_sandbox.provider(private_key_pem=not_our_key)

    with pytest.raises(ProviderRefused) as refused:
        await provider.create(new_payment())

    assert refused.value.reason == "invalid-signature"
    stats = await open_banking_sandbox.stats()
    assert (stats["tokens_issued"], stats["api_requests"], stats["payments"]) == (2, 2, 0)


async def test_wrong_client_credentials_are_refused_without_revealing_the_secret(
    open_banking_sandbox: OpenBankingSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    secret = f"wrong-{uuid.uuid4().hex}"
    provider = open_banking_sandbox.provider(client_secret=secret)
    caplog.set_level(logging.DEBUG)

    with pytest.raises(ProviderRefused) as refused:
        await provider.create(new_payment())

    assert refused.value.reason == "invalid_client"
    shown: list[Callable[[], str]] = [
        lambda: str(refused.value),
        lambda: repr(refused.value),
        lambda: repr(provider.credentials),
        lambda: caplog.text,
    ]
    assert all(secret not in show() for show in shown)
    assert (await open_banking_sandbox.stats())["api_requests"] == 0


async def test_an_unreachable_auth_server_is_unavailable_and_nothing_reaches_the_api(
    open_banking_sandbox: OpenBankingSandbox,
) -> None:
    provider = open_banking_sandbox.provider(auth_base="http://127.0.0.1:1")

    with pytest.raises(ProviderUnavailable, match="access token"):
        await provider.create(new_payment())

    stats = await open_banking_sandbox.stats()
    assert (stats["tokens_issued"], stats["api_requests"], stats["payments"]) == (0, 0, 0)
