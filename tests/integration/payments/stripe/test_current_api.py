"""Stripe as the pinned API version has it, and our side held to it (issue 14).

Each test here failed against the fake and provider that behaved like a pre-2023 Stripe:
Apple Pay's request shape, automatic payment methods and ``return_url``, asynchronous capture
and its late fee, manual capture, idempotency keys pruned after 24 hours, refund webhooks
found at their first delivery, and parameters checked against the SDK's typed params.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, cast
from uuid import UUID, uuid4

import httpx
import pytest
import pytest_asyncio
import stripe
import stripe.params as sdk

from server.db.engine import DB
from server.money import round_half_up
from server.payments.fakes import stripe_fake_params
from server.payments.providers.base import NewPayment, ProviderUnavailable
from server.payments.providers.stripe import ContentHTTPXClient
from server.payments.states import PaymentState, RefundState
from tests.factories import Tenant, make_order
from tests.fakes import losing_answers_after
from tests.fakes.stripe import StripeFake
from tests.integration.payments.api import pay, refund

if TYPE_CHECKING:
    from stripe.params import PaymentIntentCreateParams

STRIPE_ROUTE = "/api/v1/payments/webhooks/stripe"
PIZZA = [("Pizza", 2500, 1, 2000)]
DAY = 24 * 60 * 60


def stripe_fee(amount: int) -> int:
    return round_half_up(amount * 150, 10_000) + 20


@pytest_asyncio.fixture
async def sdk_client(stripe_fake: StripeFake) -> AsyncIterator[stripe.StripeClient]:
    http = ContentHTTPXClient(timeout=10)
    yield stripe.StripeClient(
        stripe_fake.api_key,
        base_addresses={"api": stripe_fake.url},
        http_client=http,
        max_network_retries=0,
    )
    await http.close_async()  # type: ignore[no-untyped-call]


def new_payment(amount: int = 1234, *, wallet_token: str | None = None) -> NewPayment:
    return NewPayment(
        payment_id=uuid4(), amount=amount, currency="GBP", reference="Order 7",
        wallet_token=wallet_token,
    )  # fmt: skip


async def raw(fake: StripeFake, method: str, path: str, form: dict[str, str]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {fake.api_key}"}
    async with httpx.AsyncClient(base_url=fake.url, timeout=10, trust_env=False) as http:
        if method == "GET":
            return await http.get(path, params=form, headers=headers)
        return await http.post(path, data=form, headers=headers)


# 1. Apple Pay and online cards: the request shape the current API wants.


async def test_confirming_with_automatic_payment_methods_needs_a_return_url(
    sdk_client: stripe.StripeClient,
) -> None:
    base: PaymentIntentCreateParams = {
        "amount": 1000, "currency": "gbp", "payment_method": "pm_card_visa", "confirm": True,
    }  # fmt: skip

    with pytest.raises(stripe.InvalidRequestError) as no_return_url:
        await sdk_client.v1.payment_intents.create_async(params=base)
    never = await sdk_client.v1.payment_intents.create_async(
        params={**base, "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"}}
    )
    with_url = await sdk_client.v1.payment_intents.create_async(
        params={**base, "return_url": "https://fynlo.example/return"}
    )
    cards_only = await sdk_client.v1.payment_intents.create_async(
        params={**base, "allowed_payment_method_types": ["card"]}
    )

    assert no_return_url.value.http_status == 400
    assert no_return_url.value.param == "return_url"
    assert "`return_url` must be specified" in str(no_return_url.value.user_message)
    assert [never.status, with_url.status, cards_only.status] == ["succeeded"] * 3
    assert never.automatic_payment_methods is not None
    assert cards_only.automatic_payment_methods is None


async def test_the_fake_refuses_what_the_pinned_version_refuses(
    stripe_fake: StripeFake, sdk_client: stripe.StripeClient
) -> None:
    old_shape = await raw(
        stripe_fake, "POST", "/v1/payment_intents",
        {"amount": "900", "currency": "gbp", "confirm": "true",
         "payment_method_data[type]": "card", "payment_method_data[card][token]": "tok_visa"},
    )  # fmt: skip
    with pytest.raises(stripe.InvalidRequestError) as made_up_token:
        await sdk_client.v1.payment_methods.create_async(
            params={"type": "card", "card": {"token": "tok_applepay_made_up"}}
        )
    with pytest.raises(stripe.InvalidRequestError) as exclusive:
        await sdk_client.v1.payment_intents.create_async(
            params={
                "amount": 900,
                "currency": "gbp",
                "allowed_payment_method_types": ["card"],
                "automatic_payment_methods": {"enabled": True},
            }
        )
    test_token = await sdk_client.v1.payment_methods.create_async(
        params={"type": "card", "card": {"token": "tok_visa"}}
    )

    assert old_shape.status_code == 400
    assert old_shape.json()["error"]["code"] == "parameter_unknown"
    assert old_shape.json()["error"]["param"] == "payment_method_data[card]"
    assert (made_up_token.value.code, made_up_token.value.param) == (
        "resource_missing",
        "card[token]",
    )
    assert exclusive.value.param == "automatic_payment_methods"
    assert test_token.card is not None and test_token.card.wallet is None


async def test_apple_pay_becomes_a_payment_method_then_a_card_only_intent(
    stripe_fake: StripeFake,
) -> None:
    provider = stripe_fake.provider()
    token = await stripe_fake.apple_pay_token()

    payment = await provider.create(new_payment(2000, wallet_token=token))

    assert payment.state is PaymentState.succeeded
    [created] = await stripe_fake.webhooks("payment_intent.created")
    intent = json.loads(created["payload"])["data"]["object"]
    assert intent["payment_method_types"] == ["card"]
    assert intent["automatic_payment_methods"] is None
    [charged] = await stripe_fake.webhooks("charge.succeeded")
    card = json.loads(charged["payload"])["data"]["object"]["payment_method_details"]["card"]
    assert card["wallet"]["type"] == "apple_pay"


# 2. Asynchronous capture: the fee comes after the success, with charge.updated.


async def test_the_fee_is_null_at_success_and_arrives_with_charge_updated(
    stripe_fake: StripeFake,
) -> None:
    provider = stripe_fake.provider()
    created = await provider.create(new_payment())

    confirmed = await provider.confirm(created.reference, "pm_card_visa")
    [succeeded] = await stripe_fake.webhooks("payment_intent.succeeded")
    [charge_succeeded] = await stripe_fake.webhooks("charge.succeeded")
    released = await stripe_fake.release_balance_transactions()
    [updated] = await stripe_fake.webhooks("charge.updated")

    assert (confirmed.state, confirmed.provider_fee) == (PaymentState.succeeded, None)
    assert json.loads(charge_succeeded["payload"])["data"]["object"]["balance_transaction"] is None
    event = await provider.verify_webhook(succeeded["headers"], succeeded["payload"].encode())
    assert event is not None and event.provider_fee is None
    charge = json.loads(updated["payload"])["data"]
    assert charge["object"]["id"] == released[0]
    assert charge["object"]["balance_transaction"].startswith("txn_")
    assert charge["previous_attributes"] == {"balance_transaction": None}
    late = await provider.verify_webhook(updated["headers"], updated["payload"].encode())
    assert late is not None
    assert (late.kind, late.reference, late.state) == (
        "payment",
        created.reference,
        PaymentState.succeeded,
    )
    assert (await provider.status(created.reference)).provider_fee == stripe_fee(1234)


@pytest.mark.usefixtures("with_stripe")
async def test_our_fee_is_recorded_when_charge_updated_arrives(
    client: httpx.AsyncClient, tenant: Tenant, stripe_fake: StripeFake
) -> None:
    order_id = await make_order(tenant, seq=1, lines=PIZZA)
    paid = await pay(
        client, tenant.headers, order_id, method="card", amount=2500, payment_method="pm_card_visa"
    )
    assert paid.status_code == 201, paid.text
    assert (paid.json()["state"], paid.json()["fees"]["provider_fee"]) == ("succeeded", None)
    for hook in await stripe_fake.webhooks():  # the success events carry no fee
        answer = await client.post(
            STRIPE_ROUTE, content=hook["payload"].encode(), headers=hook["headers"]
        )
        assert answer.status_code == 200
    still = await client.get(f"/api/v1/payments/{paid.json()['id']}", headers=tenant.headers)
    assert still.json()["fees"]["provider_fee"] is None

    await stripe_fake.release_balance_transactions()
    [updated] = await stripe_fake.webhooks("charge.updated")
    answer = await client.post(
        STRIPE_ROUTE, content=updated["payload"].encode(), headers=updated["headers"]
    )

    assert answer.status_code == 200
    read = await client.get(f"/api/v1/payments/{paid.json()['id']}", headers=tenant.headers)
    assert read.json()["fees"]["provider_fee"] == stripe_fee(2500)


async def test_manual_capture_waits_at_requires_capture_then_captures_at_most_the_amount(
    sdk_client: stripe.StripeClient,
) -> None:
    params: PaymentIntentCreateParams = {
        "amount": 2000, "currency": "gbp", "payment_method": "pm_card_visa", "confirm": True,
        "capture_method": "manual", "allowed_payment_method_types": ["card"],
    }  # fmt: skip
    held = await sdk_client.v1.payment_intents.create_async(params=params)
    to_cancel = await sdk_client.v1.payment_intents.create_async(params=params)
    assert (held.status, held.amount_capturable) == ("requires_capture", 2000)

    with pytest.raises(stripe.InvalidRequestError) as too_much:
        await sdk_client.v1.payment_intents.capture_async(
            held.id, params={"amount_to_capture": 2001}
        )
    captured = await sdk_client.v1.payment_intents.capture_async(
        held.id, params={"amount_to_capture": 1500, "expand": ["latest_charge.balance_transaction"]}
    )
    canceled = await sdk_client.v1.payment_intents.cancel_async(to_cancel.id)

    assert too_much.value.param == "amount_to_capture"
    assert (captured.status, captured.amount_received) == ("succeeded", 1500)
    charge = captured.latest_charge
    assert isinstance(charge, stripe.Charge) and charge.captured
    assert isinstance(charge.balance_transaction, stripe.BalanceTransaction)
    assert charge.balance_transaction.fee == stripe_fee(1500)
    assert canceled.status == "canceled"
    with pytest.raises(stripe.InvalidRequestError):
        await sdk_client.v1.refunds.create_async(params={"payment_intent": to_cancel.id})


# 3. Idempotency keys expire after 24 hours; our resends look first.


async def test_a_key_older_than_a_day_is_a_new_request(stripe_fake: StripeFake) -> None:
    form = {"amount": "1000", "currency": "gbp", "metadata[payment_id]": "p-aged"}
    headers = {"Authorization": f"Bearer {stripe_fake.api_key}", "Idempotency-Key": "aged"}
    async with httpx.AsyncClient(base_url=stripe_fake.url, timeout=10, trust_env=False) as http:
        first = await http.post("/v1/payment_intents", data=form, headers=headers)
        await stripe_fake.age_idempotency_keys(DAY - 60)
        replayed = await http.post("/v1/payment_intents", data=form, headers=headers)
        await stripe_fake.age_idempotency_keys(60)
        fresh = await http.post("/v1/payment_intents", data=form, headers=headers)

    assert replayed.json()["id"] == first.json()["id"]
    assert fresh.json()["id"] != first.json()["id"]
    assert (await stripe_fake.stats())["by_payment_id"]["p-aged"]["payment_intents"] == 2


async def test_a_refund_resent_after_its_key_expired_refunds_once(
    stripe_fake: StripeFake,
) -> None:
    provider = stripe_fake.provider(timeout_seconds=losing_answers_after(0.3))
    payment = new_payment(2000)
    created = await provider.create(payment)
    await provider.confirm(created.reference, "pm_card_visa")
    refund_id = uuid4()
    await stripe_fake.faults(delay_next=1, delay_seconds=1.0, delay_path="/refunds$")

    with pytest.raises(ProviderUnavailable):
        await provider.refund(created.reference, refund_id=refund_id, amount=500, currency="GBP")
    await stripe_fake.answers_released()
    await stripe_fake.age_idempotency_keys(DAY + 1)
    resent = await provider.refund(
        created.reference, refund_id=refund_id, amount=500, currency="GBP"
    )

    assert resent.state is RefundState.succeeded
    stats = await stripe_fake.stats()
    assert stats["refunds"] == 1
    assert stats["by_payment_id"][str(payment.payment_id)]["refunded"] == 500


# 4. Refund webhooks are found by the metadata we set, at their first delivery.


@pytest.mark.usefixtures("with_stripe")
async def test_a_refund_webhook_is_answered_200_at_its_first_delivery(
    client: httpx.AsyncClient, tenant: Tenant, stripe_fake: StripeFake
) -> None:
    order_id = await make_order(tenant, seq=1, lines=PIZZA)
    paid = await pay(
        client, tenant.headers, order_id, method="card", amount=2500, payment_method="pm_card_visa"
    )
    payment_id = paid.json()["id"]
    # The refund's answer is lost: our row has no Stripe reference when the webhook comes.
    await stripe_fake.faults(delay_next=1, delay_seconds=3.0, delay_path="/refunds$")
    lost = await refund(client, tenant.headers, payment_id, amount=1000)
    assert lost.status_code == 503, lost.text
    [created] = await stripe_fake.webhooks("refund.created")

    first = await client.post(
        STRIPE_ROUTE, content=created["payload"].encode(), headers=created["headers"]
    )

    assert first.status_code == 200, first.text
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT state, provider_reference FROM refunds WHERE payment_id = $1",
            UUID(payment_id),
        )
    refund_object = json.loads(created["payload"])["data"]["object"]
    assert (row["state"], row["provider_reference"]) == ("succeeded", refund_object["id"])
    await stripe_fake.answers_released()


# 5. Parameters: exactly those the SDK's typed params declare.

ENDPOINT_PARAMS: list[tuple[str, str, type]] = [
    ("POST", "/v1/payment_intents", sdk.PaymentIntentCreateParams),
    ("GET", "/v1/payment_intents", sdk.PaymentIntentListParams),
    ("POST", "/v1/refunds", sdk.RefundCreateParams),
    ("GET", "/v1/refunds", sdk.RefundListParams),
    ("POST", "/v1/payment_methods", sdk.PaymentMethodCreateParams),
    ("GET", "/v1/events", sdk.EventListParams),
    ("GET", "/v1/balance_transactions", sdk.BalanceTransactionListParams),
]


def sdk_names(params_class: type) -> set[str]:
    """The parameter names the SDK's TypedDict declares, request options left out."""
    options = {"api_key", "idempotency_key", "stripe_account", "stripe_context", "stripe_version",
               "headers", "max_network_retries", "content_type"}  # fmt: skip
    return set(params_class.__annotations__) - options


@pytest.mark.parametrize(("method", "path", "params_class"), ENDPOINT_PARAMS)
async def test_every_parameter_the_sdk_declares_is_known_and_no_other(
    stripe_fake: StripeFake, method: str, path: str, params_class: type
) -> None:
    declared = sdk_names(params_class)
    assert stripe_fake_params.names(params_class) == declared

    refused_as_unknown = []
    for name in sorted(declared):
        answer = await raw(stripe_fake, method, path, {name: "x"})
        if answer.status_code == 400 and answer.json()["error"]["code"] == "parameter_unknown":
            refused_as_unknown.append(name)
    unknown = await raw(stripe_fake, method, path, {"not_a_stripe_parameter": "1"})

    assert refused_as_unknown == []
    assert unknown.status_code == 400
    assert unknown.json()["error"] | {"message": None} == {
        "type": "invalid_request_error",
        "code": "parameter_unknown",
        "param": "not_a_stripe_parameter",
        "message": None,
        "decline_code": None,
    }


async def test_parameters_an_old_fake_refused_are_accepted(sdk_client: stripe.StripeClient) -> None:
    params = cast(
        "PaymentIntentCreateParams",
        {
            "amount": 1000,
            "currency": "gbp",
            "payment_method": "pm_card_visa",
            "confirm": True,
            "off_session": True,
            "capture_method": "automatic",
            "excluded_payment_method_types": ["klarna"],
        },
    )

    intent = await sdk_client.v1.payment_intents.create_async(params=params)

    assert (intent.status, intent.capture_method) == ("succeeded", "automatic")
