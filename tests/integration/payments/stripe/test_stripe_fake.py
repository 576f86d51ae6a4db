"""The fake Stripe answers the real SDK the way Stripe does.

These drive the fake with ``stripe.StripeClient`` (and raw HTTP where the wire itself is the
point), so the provider's tests can trust that what passes here would pass against Stripe.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, cast

import httpx
import pytest
import pytest_asyncio
import stripe

from server.money import round_half_up
from server.payments.providers.stripe import ContentHTTPXClient
from tests.fakes.stripe import StripeFake

if TYPE_CHECKING:
    from stripe.params import PaymentIntentCreateParams

FEE_BP, FEE_FIXED = 150, 20


@pytest_asyncio.fixture
async def sdk(stripe_fake: StripeFake) -> AsyncIterator[stripe.StripeClient]:
    http = ContentHTTPXClient(timeout=10)
    yield stripe.StripeClient(
        stripe_fake.api_key,
        base_addresses={"api": stripe_fake.url},
        http_client=http,
        max_network_retries=0,
    )
    await http.close_async()  # type: ignore[no-untyped-call]


async def raw_post(
    fake: StripeFake, path: str, form: dict[str, str], *, key: str, api_key: str | None = None
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {api_key or fake.api_key}", "Idempotency-Key": key}
    async with httpx.AsyncClient(base_url=fake.url, timeout=10, trust_env=False) as http:
        return await http.post(path, data=form, headers=headers)


def paid_params(
    amount: int = 1234, *, expand: list[str] | None = None
) -> PaymentIntentCreateParams:
    params: PaymentIntentCreateParams = {
        "amount": amount,
        "currency": "gbp",
        "metadata": {"payment_id": "p-1"},
        "payment_method": "pm_card_visa",
        "allowed_payment_method_types": ["card"],
        "confirm": True,
    }
    if expand:
        params["expand"] = expand
    return params


async def test_a_visa_payment_succeeds_and_its_fee_is_in_the_balance_transaction(
    stripe_fake: StripeFake, sdk: stripe.StripeClient
) -> None:
    intent = await sdk.v1.payment_intents.create_async(
        params=paid_params(expand=["latest_charge.balance_transaction"])
    )

    assert intent.status == "succeeded"
    assert intent.amount_received == 1234
    assert intent.capture_method == "automatic_async"
    charge = intent.latest_charge
    assert isinstance(charge, stripe.Charge)
    assert charge.balance_transaction is None  # asynchronous capture: the fee comes later
    assert await stripe_fake.release_balance_transactions() == [charge.id]
    charge = await sdk.v1.charges.retrieve_async(
        charge.id, params={"expand": ["balance_transaction"]}
    )
    fees = charge.balance_transaction
    assert isinstance(fees, stripe.BalanceTransaction)
    expected_fee = round_half_up(1234 * FEE_BP, 10_000) + FEE_FIXED
    assert (fees.fee, fees.net, fees.type) == (expected_fee, 1234 - expected_fee, "charge")
    charges = await sdk.v1.balance_transactions.list_async(params={"type": "charge"})
    recent = await sdk.v1.balance_transactions.list_async(
        params={"created": {"gte": fees.created - 60, "lt": fees.created + 60}}
    )
    older = await sdk.v1.balance_transactions.list_async(params={"created": {"lt": fees.created}})
    assert [entry.id for entry in charges.data] == [fees.id]
    assert [entry.id for entry in recent.data] == [fees.id]
    assert older.data == []


async def test_an_unconfirmed_intent_waits_then_confirms_with_a_card(
    sdk: stripe.StripeClient,
) -> None:
    intent = await sdk.v1.payment_intents.create_async(
        params={"amount": 500, "currency": "gbp", "allowed_payment_method_types": ["card"]}
    )
    assert intent.status == "requires_payment_method"
    assert intent.client_secret is not None and intent.client_secret.startswith(intent.id)

    confirmed = await sdk.v1.payment_intents.confirm_async(
        intent.id, params={"payment_method": "pm_card_mastercard"}
    )

    assert confirmed.status == "succeeded"


async def test_a_declined_card_is_a_card_error_and_the_intent_keeps_the_reason(
    sdk: stripe.StripeClient,
) -> None:
    intent = await sdk.v1.payment_intents.create_async(
        params={"amount": 700, "currency": "gbp", "allowed_payment_method_types": ["card"]}
    )

    with pytest.raises(stripe.CardError) as declined:
        await sdk.v1.payment_intents.confirm_async(
            intent.id, params={"payment_method": "pm_card_chargeDeclined"}
        )

    assert declined.value.code == "card_declined"
    assert declined.value.error is not None
    assert declined.value.error.decline_code == "generic_decline"
    after = await sdk.v1.payment_intents.retrieve_async(intent.id)
    assert after.status == "requires_payment_method"
    assert after.last_payment_error is not None
    assert after.last_payment_error.decline_code == "generic_decline"


async def test_an_apple_pay_token_pays_as_a_card_in_the_apple_pay_wallet(
    stripe_fake: StripeFake, sdk: stripe.StripeClient
) -> None:
    token = await stripe_fake.apple_pay_token()
    method = await sdk.v1.payment_methods.create_async(
        params={"type": "card", "card": {"token": token}}
    )

    intent = await sdk.v1.payment_intents.create_async(
        params={
            "amount": 900,
            "currency": "gbp",
            "confirm": True,
            "payment_method": method.id,
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
            "expand": ["latest_charge"],
        }
    )

    assert intent.status == "succeeded"
    charge = intent.latest_charge
    assert isinstance(charge, stripe.Charge)
    details = charge.payment_method_details
    card = details.card if details else None
    assert card is not None and card.wallet is not None and card.wallet.type == "apple_pay"
    with pytest.raises(stripe.InvalidRequestError) as reused:
        await sdk.v1.payment_methods.create_async(params={"type": "card", "card": {"token": token}})
    assert reused.value.code == "token_already_used"


async def test_cancel_ends_a_waiting_intent_and_cannot_end_it_twice(
    sdk: stripe.StripeClient,
) -> None:
    intent = await sdk.v1.payment_intents.create_async(params={"amount": 300, "currency": "gbp"})

    canceled = await sdk.v1.payment_intents.cancel_async(intent.id)

    assert canceled.status == "canceled"
    with pytest.raises(stripe.InvalidRequestError) as again:
        await sdk.v1.payment_intents.cancel_async(intent.id)
    assert again.value.code == "payment_intent_unexpected_state"


async def test_the_same_key_and_params_replay_the_first_answer(stripe_fake: StripeFake) -> None:
    form = {"amount": "1000", "currency": "gbp", "metadata[payment_id]": "p-2"}

    first = await raw_post(stripe_fake, "/v1/payment_intents", form, key="same")
    second = await raw_post(stripe_fake, "/v1/payment_intents", form, key="same")

    assert (first.status_code, second.status_code) == (200, 200)
    assert second.content == first.content
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert (await stripe_fake.stats())["by_payment_id"]["p-2"]["payment_intents"] == 1


async def test_the_same_key_with_other_params_is_an_idempotency_error(
    stripe_fake: StripeFake, sdk: stripe.StripeClient
) -> None:
    options: stripe.RequestOptions = {"idempotency_key": "k-1"}
    await sdk.v1.payment_intents.create_async(params=paid_params(), options=options)

    with pytest.raises(stripe.IdempotencyError):
        await sdk.v1.payment_intents.create_async(params=paid_params(amount=999), options=options)

    assert (await stripe_fake.stats())["payment_intents"] == 1


async def test_keys_belong_to_one_api_key(stripe_fake: StripeFake) -> None:
    form = {"amount": "1000", "currency": "gbp"}

    mine = await raw_post(stripe_fake, "/v1/payment_intents", form, key="shared")
    theirs = await raw_post(
        stripe_fake, "/v1/payment_intents", form, key="shared", api_key="sk_test_other"
    )

    assert mine.json()["id"] != theirs.json()["id"]
    assert (await stripe_fake.stats())["payment_intents"] == 2


async def test_a_key_still_running_answers_409_to_a_concurrent_request(
    stripe_fake: StripeFake,
) -> None:
    await stripe_fake.faults(stall_next=1, stall_seconds=0.5)
    form = {"amount": "1000", "currency": "gbp", "metadata[payment_id]": "p-3"}

    first, second = await asyncio.gather(
        raw_post(stripe_fake, "/v1/payment_intents", form, key="busy"),
        raw_post(stripe_fake, "/v1/payment_intents", form, key="busy"),
    )

    assert sorted([first.status_code, second.status_code]) == [200, 409]
    conflict = first if first.status_code == 409 else second
    assert conflict.json()["error"]["code"] == "idempotency_key_in_use"
    assert (await stripe_fake.stats())["by_payment_id"]["p-3"]["payment_intents"] == 1


async def test_refunds_may_be_partial_but_never_above_the_charge(
    stripe_fake: StripeFake, sdk: stripe.StripeClient
) -> None:
    intent = await sdk.v1.payment_intents.create_async(params=paid_params(amount=1000))

    part = await sdk.v1.refunds.create_async(params={"payment_intent": intent.id, "amount": 300})
    with pytest.raises(stripe.InvalidRequestError) as too_much:
        await sdk.v1.refunds.create_async(params={"payment_intent": intent.id, "amount": 701})
    rest = await sdk.v1.refunds.create_async(params={"payment_intent": intent.id})
    with pytest.raises(stripe.InvalidRequestError) as nothing_left:
        await sdk.v1.refunds.create_async(params={"payment_intent": intent.id, "amount": 1})

    assert (part.status, part.amount, rest.amount) == ("succeeded", 300, 700)
    assert too_much.value.code == "amount_too_large"
    assert nothing_left.value.code == "charge_already_refunded"
    fetched = await sdk.v1.refunds.retrieve_async(part.id)
    assert fetched.payment_intent == intent.id
    assert (await stripe_fake.stats())["by_payment_id"]["p-1"]["refunded"] == 1000


async def test_a_pending_refund_can_fail_later_and_the_money_is_refundable_again(
    stripe_fake: StripeFake, sdk: stripe.StripeClient
) -> None:
    intent = await sdk.v1.payment_intents.create_async(params=paid_params(amount=1000))
    refund = await sdk.v1.refunds.create_async(
        params={
            "payment_intent": intent.id,
            "metadata": {"fake_refund_pending": "true"},
        }
    )
    assert refund.status == "pending"

    failed = await stripe_fake.settle_refund(refund.id, "failed", "expired_or_canceled_card")

    assert (failed["status"], failed["failure_reason"]) == ("failed", "expired_or_canceled_card")
    assert [hook["type"] for hook in await stripe_fake.webhooks("refund.failed")] == [
        "refund.failed"
    ]
    again = await sdk.v1.refunds.create_async(params={"payment_intent": intent.id})
    assert (again.status, again.amount) == ("succeeded", 1000)


async def test_events_are_listed_newest_first_by_type_and_page(sdk: stripe.StripeClient) -> None:
    intent = await sdk.v1.payment_intents.create_async(params=paid_params())
    await sdk.v1.refunds.create_async(params={"payment_intent": intent.id, "amount": 100})

    everything = await sdk.v1.events.list_async(params={"limit": 100})
    intents_only = await sdk.v1.events.list_async(params={"type": "payment_intent.*"})
    first_page = await sdk.v1.events.list_async(params={"limit": 2})
    next_page = await sdk.v1.events.list_async(
        params={"limit": 2, "starting_after": first_page.data[-1].id}
    )

    assert [event.type for event in everything.data] == [
        "charge.refunded",
        "refund.created",
        "payment_intent.succeeded",
        "charge.succeeded",
        "payment_intent.created",
    ]
    assert [event.type for event in intents_only.data] == [
        "payment_intent.succeeded",
        "payment_intent.created",
    ]
    assert [e.id for e in first_page.data + next_page.data] == [e.id for e in everything.data[:4]]
    assert first_page.has_more
    one = await sdk.v1.events.retrieve_async(everything.data[0].id)
    assert one.data.object["amount_refunded"] == 100


async def test_injected_500s_do_nothing_and_the_sdk_sees_an_api_error(
    stripe_fake: StripeFake, sdk: stripe.StripeClient
) -> None:
    await stripe_fake.faults(fail_next=1)

    with pytest.raises(stripe.APIError):
        await sdk.v1.payment_intents.create_async(params=paid_params())

    assert (await stripe_fake.stats())["payment_intents"] == 0
    assert (await sdk.v1.payment_intents.create_async(params=paid_params())).status == "succeeded"


async def test_requests_need_a_test_key_and_known_parameters(
    stripe_fake: StripeFake, sdk: stripe.StripeClient
) -> None:
    live = await raw_post(
        stripe_fake, "/v1/payment_intents", {"amount": "1000"}, key="x", api_key="sk_live_1"
    )
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        await sdk.v1.payment_intents.create_async(
            params=cast("PaymentIntentCreateParams", {**paid_params(), "amout": 5})
        )

    assert live.status_code == 401
    assert unknown.value.param == "amout"
    assert unknown.value.code == "parameter_unknown"


async def test_every_event_is_recorded_signed_with_the_endpoint_secret(
    stripe_fake: StripeFake, sdk: stripe.StripeClient
) -> None:
    await sdk.v1.payment_intents.create_async(params=paid_params())

    deliveries = await stripe_fake.webhooks()

    assert [hook["type"] for hook in deliveries] == [
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
    ]
    for hook in deliveries:
        assert stripe.WebhookSignature.verify_header(
            hook["payload"], hook["headers"]["Stripe-Signature"], stripe_fake.secret, 300
        )


async def test_reset_forgets_everything(stripe_fake: StripeFake, sdk: stripe.StripeClient) -> None:
    await sdk.v1.payment_intents.create_async(params=paid_params())

    await stripe_fake.reset()

    stats = await stripe_fake.stats()
    assert (stats["payment_intents"], stats["events"], stats["webhooks"]) == (0, 0, 0)
