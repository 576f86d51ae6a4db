"""The fake Stripe takes in-person payments the way Stripe Terminal does, driven by the real SDK.

Smart readers through the server-driven API and the simulated reader's test helper; Tap to
Pay on the iPad and offline forwarding through the fake's ``/_fake/terminal/…`` controls
(what the Terminal iOS SDK does at Stripe); search; and authorisations that lapse uncaptured.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
import stripe

from server.payments.providers.stripe import ContentHTTPXClient
from tests.fakes.stripe import StripeFake

DAY = 86_400
VISA, DECLINED, NO_FUNDS, MASTERCARD = (
    "4242424242424242", "4000000000000002", "4000000000009995", "5555555555554444",
)  # fmt: skip


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


async def new_location(sdk: stripe.StripeClient, name: str = "Soho") -> str:
    location = await sdk.v1.terminal.locations.create_async(
        {
            "display_name": name,
            "address": {
                "line1": "1 Dean St", "city": "London", "postal_code": "W1D 3RB", "country": "GB",
            },
        }
    )  # fmt: skip
    return location.id


async def new_reader(sdk: stripe.StripeClient, location: str) -> stripe.terminal.Reader:
    return await sdk.v1.terminal.readers.create_async(
        {"registration_code": "simulated-wpe", "location": location, "label": "Bar"}
    )


async def in_person(
    sdk: stripe.StripeClient, amount: int = 1000, capture: str = "manual", **metadata: str
) -> stripe.PaymentIntent:
    return await sdk.v1.payment_intents.create_async(
        {
            "amount": amount,
            "currency": "gbp",
            "allowed_payment_method_types": ["card_present"],
            "capture_method": capture,  # type: ignore[typeddict-item]
            "metadata": metadata,
        }
    )


async def tap_on_reader(
    sdk: stripe.StripeClient, reader: str, intent: str, number: str = VISA, tip: int = 0
) -> stripe.terminal.Reader:
    await sdk.v1.terminal.readers.process_payment_intent_async(reader, {"payment_intent": intent})
    return await sdk.v1.test_helpers.terminal.readers.present_payment_method_async(
        reader, {"type": "card_present", "card_present": {"number": number}, "amount_tip": tip}
    )


async def control(fake: StripeFake, path: str, body: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=fake.url, timeout=10, trust_env=False) as http:
        return await http.post(path, json=body)


async def event_types(fake: StripeFake, about: str) -> list[str]:
    """Types of the events so far whose object is ``about`` (or a reader acting on it)."""
    types = []
    for delivery in await fake.webhooks():
        found = json.loads(delivery["payload"])["data"]["object"]
        action = found.get("action") or {}
        processing = (action.get("process_payment_intent") or {}).get("payment_intent")
        if about in (found["id"], found.get("payment_intent"), processing):
            types.append(delivery["type"])
    return types


async def test_a_connection_token_is_a_secret_scoped_to_a_location(
    sdk: stripe.StripeClient,
) -> None:
    location = await new_location(sdk)

    scoped = await sdk.v1.terminal.connection_tokens.create_async({"location": location})
    anywhere = await sdk.v1.terminal.connection_tokens.create_async()

    assert scoped.secret.startswith("pst_test_") and scoped.location == location
    assert anywhere.location is None and anywhere.secret != scoped.secret
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        await sdk.v1.terminal.connection_tokens.create_async({"location": "tml_nope"})
    assert (unknown.value.http_status, unknown.value.code) == (404, "resource_missing")


async def test_locations_need_the_address_their_country_requires(sdk: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as no_postcode:
        await sdk.v1.terminal.locations.create_async(
            {"display_name": "Soho", "address": {"line1": "1 Dean St", "country": "GB"}}
        )
    assert no_postcode.value.param == "address[city]"
    location = await new_location(sdk)

    found = await sdk.v1.terminal.locations.retrieve_async(location)
    listed = await sdk.v1.terminal.locations.list_async()

    assert (found.display_name, found.address.postal_code) == ("Soho", "W1D 3RB")
    assert [item.id for item in listed.data] == [location]


async def test_simulated_wpe_registers_a_simulated_wisepos_e_and_other_codes_are_refused(
    sdk: stripe.StripeClient,
) -> None:
    soho, camden = await new_location(sdk), await new_location(sdk, "Camden")
    bar = await new_reader(sdk, soho)
    door = await new_reader(sdk, camden)

    assert (bar.device_type, bar.status, bar.location, bar.label) == (
        "simulated_wisepos_e", "online", soho, "Bar",
    )  # fmt: skip
    at_soho = await sdk.v1.terminal.readers.list_async({"location": soho})
    assert [reader.id for reader in at_soho.data] == [bar.id]
    assert (await sdk.v1.terminal.readers.retrieve_async(door.id)).location == camden
    with pytest.raises(stripe.InvalidRequestError) as bad_code:
        await sdk.v1.terminal.readers.create_async(
            {"registration_code": "purple-cat-dog", "location": soho}
        )
    assert bad_code.value.param == "registration_code"
    with pytest.raises(stripe.InvalidRequestError) as nowhere:
        await sdk.v1.terminal.readers.create_async({"registration_code": "simulated-wpe"})
    assert (nowhere.value.code, nowhere.value.param) == ("parameter_missing", "location")


async def test_a_reader_takes_the_card_and_the_intent_waits_for_capture(
    stripe_fake: StripeFake, sdk: stripe.StripeClient
) -> None:
    reader = await new_reader(sdk, await new_location(sdk))
    intent = await in_person(sdk)

    started = await sdk.v1.terminal.readers.process_payment_intent_async(
        reader.id, {"payment_intent": intent.id, "process_config": {"skip_tipping": True}}
    )
    assert started.action is not None and started.action.status == "in_progress"
    assert started.action.type == "process_payment_intent"
    assert started.action.process_payment_intent.payment_intent == intent.id  # type: ignore[union-attr]
    done = await sdk.v1.test_helpers.terminal.readers.present_payment_method_async(reader.id)

    assert done.action is not None and done.action.status == "succeeded"
    held = await sdk.v1.payment_intents.retrieve_async(intent.id, {"expand": ["latest_charge"]})
    assert (held.status, held.amount_capturable) == ("requires_capture", 1000)
    charge = held.latest_charge
    assert isinstance(charge, stripe.Charge)
    details = charge.payment_method_details
    assert details is not None and details.type == "card_present"
    present = details.card_present
    assert present is not None
    assert (present.brand, present.last4) == ("visa", "4242")
    assert present.read_method == "contactless_emv"
    assert (present.reader, present.location) == (reader.id, reader.location)
    assert present.capture_before is not None
    assert abs(present.capture_before - (charge.created + 5 * DAY)) <= 5  # Visa in person
    captured = await sdk.v1.payment_intents.capture_async(intent.id)
    assert (captured.status, captured.amount_received) == ("succeeded", 1000)
    assert await event_types(stripe_fake, intent.id) == [
        "payment_intent.created", "charge.succeeded", "payment_intent.amount_capturable_updated",
        "terminal.reader.action_succeeded", "charge.captured", "payment_intent.succeeded",
    ]  # fmt: skip


async def test_automatic_capture_succeeds_at_once(sdk: stripe.StripeClient) -> None:
    reader = await new_reader(sdk, await new_location(sdk))
    intent = await in_person(sdk, 700, "automatic")

    await tap_on_reader(sdk, reader.id, intent.id)

    paid = await sdk.v1.payment_intents.retrieve_async(intent.id)
    assert (paid.status, paid.amount_received) == ("succeeded", 700)


async def test_a_tip_on_the_reader_adds_to_the_amount(sdk: stripe.StripeClient) -> None:
    reader = await new_reader(sdk, await new_location(sdk))
    intent = await in_person(sdk, 1000)
    await sdk.v1.terminal.readers.process_payment_intent_async(
        reader.id,
        {"payment_intent": intent.id, "process_config": {"tipping": {"amount_eligible": 1000}}},
    )
    shown = await sdk.v1.terminal.readers.retrieve_async(reader.id)
    config = shown.action.process_payment_intent.process_config  # type: ignore[union-attr]
    assert config is not None and config.tipping is not None
    assert config.tipping.amount_eligible == 1000

    await sdk.v1.test_helpers.terminal.readers.present_payment_method_async(
        reader.id, {"amount_tip": 150}
    )

    held = await sdk.v1.payment_intents.retrieve_async(intent.id)
    assert (held.amount, held.amount_capturable) == (1150, 1150)
    assert held.amount_details is not None and held.amount_details.tip is not None
    assert held.amount_details.tip.amount == 150
    no_tip = await in_person(sdk)
    await sdk.v1.terminal.readers.process_payment_intent_async(
        reader.id, {"payment_intent": no_tip.id, "process_config": {"skip_tipping": True}}
    )
    with pytest.raises(stripe.InvalidRequestError) as skipped:
        await sdk.v1.test_helpers.terminal.readers.present_payment_method_async(
            reader.id, {"amount_tip": 100}
        )
    assert skipped.value.param == "amount_tip"


@pytest.mark.parametrize(
    ("number", "decline_code"), [(DECLINED, "generic_decline"), (NO_FUNDS, "insufficient_funds")]
)
async def test_a_declined_card_fails_the_action_and_leaves_the_intent_payable(
    stripe_fake: StripeFake, sdk: stripe.StripeClient, number: str, decline_code: str
) -> None:
    reader = await new_reader(sdk, await new_location(sdk))
    intent = await in_person(sdk)

    failed = await tap_on_reader(sdk, reader.id, intent.id, number)

    action = failed.action
    assert action is not None and action.status == "failed"
    assert action.failure_code == "card_declined"
    assert action.api_error is not None and action.api_error.decline_code == decline_code
    again = await sdk.v1.payment_intents.retrieve_async(intent.id)
    assert again.status == "requires_payment_method"
    assert again.last_payment_error is not None
    assert again.last_payment_error.decline_code == decline_code
    assert await event_types(stripe_fake, intent.id) == [
        "payment_intent.created", "charge.failed", "payment_intent.payment_failed",
        "terminal.reader.action_failed",
    ]  # fmt: skip
    retried = await tap_on_reader(sdk, reader.id, intent.id, VISA)
    assert retried.action is not None and retried.action.status == "succeeded"


async def test_a_busy_reader_refuses_another_payment_until_its_action_is_canceled(
    sdk: stripe.StripeClient,
) -> None:
    reader = await new_reader(sdk, await new_location(sdk))
    first, second = await in_person(sdk), await in_person(sdk)
    await sdk.v1.terminal.readers.process_payment_intent_async(
        reader.id, {"payment_intent": first.id}
    )

    with pytest.raises(stripe.InvalidRequestError) as busy:
        await sdk.v1.terminal.readers.process_payment_intent_async(
            reader.id, {"payment_intent": second.id}
        )
    assert busy.value.code == "terminal_reader_busy"
    canceled = await sdk.v1.terminal.readers.cancel_action_async(reader.id)
    assert canceled.action is None
    assert (await sdk.v1.payment_intents.retrieve_async(first.id)).status == (
        "requires_payment_method"
    )
    taken = await tap_on_reader(sdk, reader.id, second.id)
    assert taken.action is not None and taken.action.status == "succeeded"
    with pytest.raises(stripe.InvalidRequestError):
        await sdk.v1.terminal.readers.cancel_action_async(reader.id)  # nothing to cancel


async def test_tap_to_pay_on_the_ipad_confirms_on_a_mobile_phone_reader(
    stripe_fake: StripeFake, sdk: stripe.StripeClient
) -> None:
    intent = await in_person(sdk)

    held = await stripe_fake.control(
        "POST", "/_fake/terminal/tap", {"payment_intent": intent.id, "amount_tip": 100}
    )

    assert (held["status"], held["amount"], held["amount_details"]["tip"]) == (
        "requires_capture", 1100, {"amount": 100},
    )  # fmt: skip
    charge = await sdk.v1.charges.retrieve_async(held["latest_charge"])
    reader_id = charge.payment_method_details.card_present.reader  # type: ignore[union-attr]
    assert reader_id is not None
    ipad = await sdk.v1.terminal.readers.retrieve_async(reader_id)
    assert ipad.device_type == "mobile_phone_reader"
    other = await in_person(sdk)
    declined = await control(
        stripe_fake, "/_fake/terminal/tap", {"payment_intent": other.id, "number": DECLINED}
    )
    assert declined.status_code == 402
    assert declined.json()["error"]["decline_code"] == "generic_decline"
    assert (await sdk.v1.payment_intents.retrieve_async(other.id)).status == (
        "requires_payment_method"
    )
    online = await sdk.v1.payment_intents.create_async(
        {"amount": 500, "currency": "gbp", "allowed_payment_method_types": ["card"]}
    )
    refused = await control(stripe_fake, "/_fake/terminal/tap", {"payment_intent": online.id})
    assert refused.json()["error"]["code"] == "payment_intent_incompatible_payment_method"


async def test_an_offline_payment_is_made_when_forwarded_and_found_by_its_metadata(
    stripe_fake: StripeFake, sdk: stripe.StripeClient
) -> None:
    stored_at = int(time.time()) - 3600
    offline = {"amount": 1200, "currency": "gbp", "capture_method": "manual", "amount_tip": 200}

    paid = await stripe_fake.control(
        "POST",
        "/_fake/terminal/forward_offline",
        {**offline, "metadata": {"payment_id": "p-off"}, "stored_at": stored_at},
    )
    declined = await stripe_fake.control(
        "POST",
        "/_fake/terminal/forward_offline",
        {**offline, "metadata": {"payment_id": "p-bad"}, "number": NO_FUNDS},
    )

    assert (paid["status"], paid["amount"], paid["metadata"]) == (
        "requires_capture", 1400, {"payment_id": "p-off"},
    )  # fmt: skip
    charge = await sdk.v1.charges.retrieve_async(paid["latest_charge"])
    offline_details = charge.payment_method_details.card_present.offline  # type: ignore[union-attr]
    assert offline_details is not None
    assert (offline_details.stored_at, offline_details.type) == (stored_at, "deferred")
    assert declined["status"] == "requires_payment_method"
    assert declined["last_payment_error"]["decline_code"] == "insufficient_funds"
    assert "payment_intent.payment_failed" in await event_types(stripe_fake, declined["id"])
    found = await sdk.v1.payment_intents.search_async({"query": "metadata['payment_id']:'p-off'"})
    assert [intent.id for intent in found.data] == [paid["id"]]


async def test_search_matches_metadata_and_status_pages_and_refuses_other_queries(
    stripe_fake: StripeFake, sdk: stripe.StripeClient
) -> None:
    made = [(await in_person(sdk, 500 + n, "automatic", shift="am")).id for n in range(3)]
    await stripe_fake.control("POST", "/_fake/terminal/tap", {"payment_intent": made[0]})
    query = "metadata['shift']:'am' AND status:'requires_payment_method'"

    first = await sdk.v1.payment_intents.search_async({"query": query, "limit": 1})
    second = await sdk.v1.payment_intents.search_async(
        {"query": query, "limit": 1, "page": first.next_page}
    )
    paid = await sdk.v1.payment_intents.search_async(
        {"query": 'metadata["shift"]:"am" AND status:"succeeded"'}
    )

    assert (first.object, first.url, first.has_more) == (
        "search_result", "/v1/payment_intents/search", True,
    )  # fmt: skip
    assert [first.data[0].id, second.data[0].id] == [made[2], made[1]]
    assert (second.has_more, second.next_page) == (False, None)
    assert [intent.id for intent in paid.data] == [made[0]]
    for unsupported in ["amount>500", "metadata['shift']:'am' OR status:'succeeded'", "am"]:
        with pytest.raises(stripe.InvalidRequestError) as refused:
            await sdk.v1.payment_intents.search_async({"query": unsupported})
        assert (refused.value.http_status, refused.value.param) == (400, "query")


async def test_an_uncaptured_authorisation_lapses_after_its_brands_window(
    stripe_fake: StripeFake, sdk: stripe.StripeClient
) -> None:
    visa, mastercard, captured = await in_person(sdk), await in_person(sdk), await in_person(sdk)
    for intent, number in [(visa, VISA), (mastercard, MASTERCARD), (captured, VISA)]:
        body = {"payment_intent": intent.id, "number": number}
        await stripe_fake.control("POST", "/_fake/terminal/tap", body)
    await sdk.v1.payment_intents.capture_async(captured.id)

    after_two_days = await stripe_fake.control(
        "POST", "/_fake/authorizations/age", {"seconds": 2 * DAY}
    )
    after_five_days = await stripe_fake.control(
        "POST", "/_fake/authorizations/age", {"seconds": 3 * DAY}
    )

    assert after_two_days == {"canceled": [mastercard.id]}
    assert after_five_days == {"canceled": [visa.id]}
    lapsed = await sdk.v1.payment_intents.retrieve_async(visa.id, {"expand": ["latest_charge"]})
    assert (lapsed.status, lapsed.cancellation_reason) == ("canceled", "automatic")
    assert isinstance(lapsed.latest_charge, stripe.Charge) and lapsed.latest_charge.refunded
    assert (await event_types(stripe_fake, visa.id))[-2:] == [
        "charge.expired", "payment_intent.canceled",
    ]  # fmt: skip
    assert (await sdk.v1.payment_intents.retrieve_async(captured.id)).status == "succeeded"


async def test_parameters_the_sdk_does_not_type_are_refused(
    stripe_fake: StripeFake, sdk: stripe.StripeClient
) -> None:
    reader = await new_reader(sdk, await new_location(sdk))
    intent = await in_person(sdk)
    headers = {"Authorization": f"Bearer {stripe_fake.api_key}"}
    refused = {
        "/v1/payment_intents": {"amount": "500", "currency": "gbp",
                                "payment_method_types[]": "card_present"},
        "/v1/terminal/readers": {"registration_code": "simulated-wpe",
                                 "device_type": "simulated_wisepos_e"},
        f"/v1/terminal/readers/{reader.id}/process_payment_intent": {
            "payment_intent": intent.id, "process_config[tipping][percent]": "10"},
        "/v1/terminal/connection_tokens": {"reader": reader.id},
    }  # fmt: skip
    async with httpx.AsyncClient(base_url=stripe_fake.url, timeout=10, trust_env=False) as http:
        for path, form in refused.items():
            answer = await http.post(path, data=form, headers=headers)
            assert answer.status_code == 400, path
            assert answer.json()["error"]["code"] == "parameter_unknown", path
        await http.post(
            f"/v1/terminal/readers/{reader.id}/process_payment_intent",
            data={"payment_intent": intent.id},
            headers=headers,
        )
        cvc = await http.post(
            f"/v1/test_helpers/terminal/readers/{reader.id}/present_payment_method",
            data={"card_present[number]": VISA, "card_present[cvc]": "123"},
            headers=headers,
        )
    assert cvc.json()["error"]["param"] == "card_present[cvc]"
    with pytest.raises(stripe.InvalidRequestError) as exclusive:
        await sdk.v1.payment_intents.create_async(
            {
                "amount": 500,
                "currency": "gbp",
                "allowed_payment_method_types": ["card_present"],
                "automatic_payment_methods": {"enabled": True},
            }
        )
    assert exclusive.value.param == "automatic_payment_methods"
    with pytest.raises(stripe.InvalidRequestError) as online_card:
        await sdk.v1.payment_intents.confirm_async(intent.id, {"payment_method": "pm_card_visa"})
    assert online_card.value.code == "payment_intent_incompatible_payment_method"
