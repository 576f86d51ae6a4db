"""Stripe Terminal's server-driven API in the fake: connection tokens, locations, readers.

Each endpoint takes the parameters the SDK's TypedDicts declare (``stripe.params.terminal``,
``stripe.params.test_helpers.terminal``) and answers objects shaped as ``stripe.terminal.*``
and Stripe's examples in ``fixtures3.json``:

- ``POST /v1/terminal/connection_tokens`` (optional ``location``): a ``pst_test_…`` secret
  (docs.stripe.com/api/terminal/connection_tokens/create).
- ``POST /v1/terminal/locations``, ``GET /v1/terminal/locations[/{id}]``: ``display_name``
  and ``address`` are needed (``stripe.terminal.Location`` has neither Optional), and the
  address fields the country requires (docs.stripe.com/terminal/fleet/locations-and-zones).
- ``POST /v1/terminal/readers``, ``GET /v1/terminal/readers[/{id}]`` (list filters:
  ``location``, ``device_type``, ``status``, ``serial_number``). Only the simulated reader
  codes register, as in a sandbox: ``simulated-wpe`` makes a ``simulated_wisepos_e``,
  ``simulated-s700``/``simulated-s710`` the S700/S710 ones
  (docs.stripe.com/terminal/payments/connect-reader?reader-type=simulated). The fake also
  asks for ``location`` (the SDK types it optional; Stripe registers smart readers to a
  location, and a reader without one cannot take a payment).
- ``POST /v1/terminal/readers/{id}/process_payment_intent``: the reader starts a
  ``process_payment_intent`` action, ``in_progress``; a reader already busy answers
  ``terminal_reader_busy`` (docs.stripe.com/terminal/payments/collect-card-payment?
  terminal-sdk-platform=server-driven). ``cancel_action`` ends it, leaving ``action: null``
  as the API reference's example shows (docs.stripe.com/api/terminal/readers/cancel_action).
- ``POST /v1/test_helpers/terminal/readers/{id}/present_payment_method``: the simulated
  card is tapped (docs.stripe.com/terminal/references/testing#simulated-card-presentment):
  the intent is confirmed with a new ``card_present`` PaymentMethod, an ``amount_tip`` is
  added to it, and the action ends ``succeeded`` or ``failed`` with the decline in
  ``failure_code``/``failure_message`` and ``api_error`` (docs.stripe.com/changelog/dahlia/
  2026-05-27/terminal-reader-action-failures-error-details). Webhooks:
  ``terminal.reader.action_succeeded`` / ``terminal.reader.action_failed`` after the
  PaymentIntent's own events.
"""

from __future__ import annotations

import secrets
import time
import uuid

import stripe.params.terminal as sdk_terminal
import stripe.params.test_helpers.terminal as sdk_test_helpers

from server.payments.fakes import stripe_fake_params as sdk_params
from server.payments.fakes.stripe_fake_card_present import (
    TestCard,
    apply_tip,
    card_present_method,
    read_card,
)
from server.payments.fakes.stripe_fake_cards import new_id
from server.payments.fakes.stripe_fake_forms import (
    Obj,
    StripeFakeError,
    integer,
    metadata,
    text,
)
from server.payments.fakes.stripe_fake_ledger import Ledger
from server.payments.fakes.stripe_fake_reports import paginate

SIMULATED_READERS = {
    "simulated-wpe": "simulated_wisepos_e",
    "simulated-s700": "simulated_stripe_s700",
    "simulated-s710": "simulated_stripe_s710",
}
"""Registration codes that make a simulated reader in a sandbox, and the device each makes."""
SIMULATED_SOFTWARE = "2.37.2.0"
"""The ``device_sw_version`` of the simulated reader in Stripe's example."""
_ADDRESS_NEEDS = {
    ("line1", "city", "state", "postal_code"): {"AU", "CA", "IT", "ES", "US"},
    ("line1", "city", "postal_code"): {
        "AT", "BE", "CZ", "DK", "FI", "FR", "DE", "LU", "MY", "NL", "NZ", "NO", "PT", "SE",
        "CH", "GB",
    },
    ("line1", "postal_code"): {"IE", "SG"},
}  # fmt: skip
"""The address fields (besides ``country``) a Location needs, by country."""
_ADDRESS_FIELDS = ("city", "country", "line1", "line2", "postal_code", "state")
_CONFIRMABLE = frozenset({"requires_payment_method", "requires_confirmation"})
BUSY = (
    "Reader is currently busy processing another request. Please reference the integration "
    "guide at https://docs.stripe.com/terminal/payments/collect-card-payment?"
    "terminal-sdk-platform=server-driven#handle-errors for details on how to handle this error."
)


def create_connection_token(ledger: Ledger, params: Obj, _: str) -> Obj:
    """A secret the Terminal SDK on the iPad trades for its session; not kept by Stripe."""
    sdk_params.check(params, sdk_terminal.ConnectionTokenCreateParams)
    location = text(params, "location")
    if location is not None:
        ledger.get("terminal.location", location, param="location")
    return {
        "object": "terminal.connection_token",
        "location": location,
        "secret": f"pst_test_{secrets.token_urlsafe(24)}",
    }


def create_location(ledger: Ledger, params: Obj, _: str) -> Obj:
    sdk_params.check(params, sdk_terminal.LocationCreateParams)
    name = text(params, "display_name")
    if not name:
        raise _missing_param("display_name")
    location: Obj = {
        "id": new_id("tml"),
        "object": "terminal.location",
        "address": _address(params.get("address")),
        "display_name": name,
        "livemode": False,
        "metadata": metadata(params),
    }
    for optional in ("phone", "configuration_overrides", "display_name_kana", "display_name_kanji"):
        if (value := text(params, optional)) is not None:
            location[optional] = value
    ledger.objects[location["id"]] = location
    return ledger.render(location, params)


def list_locations(ledger: Ledger, params: Obj, _: str) -> Obj:
    sdk_params.check(params, sdk_terminal.LocationListParams)
    found = [item for item in ledger.objects.values() if item["object"] == "terminal.location"]
    return paginate(found, params, "/v1/terminal/locations")


def create_reader(ledger: Ledger, params: Obj, _: str) -> Obj:
    """Register a reader by the code it shows; in a sandbox, only a simulated one."""
    sdk_params.check(params, sdk_terminal.ReaderCreateParams)
    code = text(params, "registration_code")
    if not code:
        raise _missing_param("registration_code")
    location = text(params, "location")
    if location is None:
        raise _missing_param("location")
    ledger.get("terminal.location", location, param="location")
    device_type = SIMULATED_READERS.get(code)
    if device_type is None:
        raise StripeFakeError(
            400,
            f"The registration code {code!r} is not valid. In a sandbox, register a simulated "
            f"reader with one of: {', '.join(SIMULATED_READERS)}.",
            param="registration_code",
        )
    serial = f"{code}-{uuid.uuid4()}"
    reader: Obj = {
        "id": new_id("tmr"),
        "object": "terminal.reader",
        "action": None,
        "device_sw_version": SIMULATED_SOFTWARE,
        "device_type": device_type,
        "ip_address": "0.0.0.0",  # noqa: S104 - what Stripe shows for a simulated reader
        "label": text(params, "label") or serial,
        "last_seen_at": int(time.time() * 1000),
        "livemode": False,
        "location": location,
        "metadata": metadata(params),
        "serial_number": serial,
        "status": "online",
    }
    ledger.objects[reader["id"]] = reader
    return ledger.render(reader, params)


def list_readers(ledger: Ledger, params: Obj, _: str) -> Obj:
    sdk_params.check(params, sdk_terminal.ReaderListParams)
    wanted = {name: text(params, name) for name in ("location", "device_type", "status")}
    wanted["serial_number"] = text(params, "serial_number")
    found = [
        item
        for item in ledger.objects.values()
        if item["object"] == "terminal.reader"
        and all(value is None or item[name] == value for name, value in wanted.items())
    ]
    return paginate(found, params, "/v1/terminal/readers")


def process_payment_intent(ledger: Ledger, params: Obj, reader_id: str) -> Obj:
    """Hand a PaymentIntent to a smart reader; it waits for a card (``in_progress``)."""
    sdk_params.check(params, sdk_terminal.ReaderProcessPaymentIntentParams)
    reader = ledger.get("terminal.reader", reader_id)
    if reader["device_type"] == "mobile_phone_reader":
        raise StripeFakeError(
            400,
            "Tap to Pay collects payments through the Terminal SDK on its device, not through "
            "the server-driven API.",
        )
    if _busy(reader):
        raise StripeFakeError(400, BUSY, code="terminal_reader_busy")
    intent_id = text(params, "payment_intent")
    if intent_id is None:
        raise _missing_param("payment_intent")
    in_person_intent(ledger, intent_id, "payment_intent")
    reader["action"] = {
        "api_error": None,
        "failure_code": None,
        "failure_message": None,
        "process_payment_intent": {
            "payment_intent": intent_id,
            "process_config": _process_config(params.get("process_config")),
        },
        "status": "in_progress",
        "type": "process_payment_intent",
    }
    return ledger.render(reader, params)


def cancel_action(ledger: Ledger, params: Obj, reader_id: str) -> Obj:
    sdk_params.check(params, sdk_terminal.ReaderCancelActionParams)
    reader = ledger.get("terminal.reader", reader_id)
    if not _busy(reader):
        raise StripeFakeError(400, "This reader has no action in progress to cancel.")
    reader["action"] = None
    return ledger.render(reader, params)


def present_payment_method(ledger: Ledger, params: Obj, reader_id: str) -> Obj:
    """The test helper that taps a simulated card on a simulated reader."""
    sdk_params.check(params, sdk_test_helpers.ReaderPresentPaymentMethodParams)
    reader = ledger.get("terminal.reader", reader_id)
    if not str(reader["device_type"]).startswith("simulated_"):
        raise StripeFakeError(400, "Test helpers only work on simulated readers.")
    action = reader["action"]
    if not _busy(reader) or action["type"] != "process_payment_intent":
        raise StripeFakeError(400, "The reader is not waiting for a payment method.")
    if (kind := text(params, "type") or "card_present") != "card_present":
        raise StripeFakeError(
            400, f"The fake Stripe simulates card_present only, not {kind}.", param="type"
        )
    present = params.get("card_present") or {}
    if not isinstance(present, dict):
        raise StripeFakeError(400, "Invalid hash", param="card_present")
    card = read_card(text(present, "number"), "card_present[number]")
    tip = integer(params, "amount_tip", default=0)
    config = action["process_payment_intent"]["process_config"] or {}
    if tip and config.get("skip_tipping"):
        raise StripeFakeError(
            400, "Tipping was skipped for this payment: no tip can be taken.", param="amount_tip"
        )
    intent = in_person_intent(ledger, action["process_payment_intent"]["payment_intent"], "id")
    error = pay_in_person(ledger, intent, card_present_method(card), card, tip, reader=reader_id)
    if error is None:
        action["status"] = "succeeded"
        ledger.emit("terminal.reader.action_succeeded", reader)
    else:
        action.update(
            status="failed",
            failure_code=error.error["code"],
            failure_message=error.error["message"],
            api_error=_api_error(error),
        )
        ledger.emit("terminal.reader.action_failed", reader)
    return ledger.render(reader, params)


def in_person_intent(ledger: Ledger, intent_id: str, param: str) -> Obj:
    """A PaymentIntent a reader may take a card for: card_present, not yet paid."""
    intent = ledger.get("payment_intent", intent_id, param=param)
    if "card_present" not in (types := intent["payment_method_types"]):
        raise StripeFakeError(
            400,
            f"This PaymentIntent's payment_method_types ({', '.join(types)}) do not include "
            "card_present, so a reader cannot process it.",
            code="payment_intent_incompatible_payment_method",
            param=param,
        )
    if intent["status"] not in _CONFIRMABLE:
        raise StripeFakeError(
            400,
            f"This PaymentIntent has a status of {intent['status']} and cannot be processed.",
            code="intent_invalid_state",
            param=param,
        )
    return intent


def pay_in_person(
    ledger: Ledger, intent: Obj, method: Obj, card: TestCard, tip: int, *, reader: str | None
) -> StripeFakeError | None:
    """Confirm ``intent`` with a card just read; the card error of a decline, or None."""
    method_id = ledger.cards.register(method, card.profile, reader=reader)
    apply_tip(intent, tip)
    try:
        ledger.confirm_in_person(intent, method_id)
    except StripeFakeError as declined:
        return declined
    return None


def _busy(reader: Obj) -> bool:
    return reader["action"] is not None and reader["action"]["status"] == "in_progress"


def _process_config(raw: object) -> Obj | None:
    """What ``stripe.terminal.Reader.Action.ProcessPaymentIntent.ProcessConfig`` shows."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise StripeFakeError(400, "Invalid hash", param="process_config")
    config: Obj = {}
    for name in ("enable_customer_cancellation", "skip_tipping"):
        if name in raw:
            config[name] = _boolean(raw[name], f"process_config[{name}]")
    if "return_url" in raw:
        config["return_url"] = text(raw, "return_url")
    if (tipping := raw.get("tipping")) is not None:
        if not isinstance(tipping, dict):
            raise StripeFakeError(400, "Invalid hash", param="process_config[tipping]")
        eligible = integer(tipping, "amount_eligible") if "amount_eligible" in tipping else None
        config["tipping"] = {"amount_eligible": eligible}
    return config


def _boolean(raw: object, param: str) -> bool:
    if raw not in ("true", "false"):
        raise StripeFakeError(400, f"Invalid boolean: {raw}", param=param)
    return raw == "true"


def _address(raw: object) -> Obj:
    if not isinstance(raw, dict):
        raise _missing_param("address")
    country = text(raw, "country")
    if not country:
        raise _missing_param("address[country]")
    for needed, countries in _ADDRESS_NEEDS.items():
        for name in needed if country.upper() in countries else ():
            if not text(raw, name):
                raise _missing_param(f"address[{name}]")
    return {name: text(raw, name) for name in _ADDRESS_FIELDS}


def _api_error(error: StripeFakeError) -> Obj:
    """The failed action's ``api_error``: the Stripe error that ended it."""
    code = error.error["code"]
    doc_url = f"https://docs.stripe.com/error-codes/{code.replace('_', '-')}" if code else None
    return {
        "code": code,
        "decline_code": error.error["decline_code"],
        "doc_url": doc_url,
        "message": error.error["message"],
        "param": error.error["param"],
        "request_log_url": None,
        "type": error.error["type"],
    }


def _missing_param(name: str) -> StripeFakeError:
    return StripeFakeError(
        400, f"Missing required param: {name}.", code="parameter_missing", param=name
    )


ENDPOINTS = [
    ("POST", "/v1/terminal/connection_tokens", create_connection_token),
    ("POST", "/v1/terminal/locations", create_location),
    ("GET", "/v1/terminal/locations", list_locations),
    ("POST", "/v1/terminal/readers", create_reader),
    ("GET", "/v1/terminal/readers", list_readers),
    ("POST", "/v1/terminal/readers/{id}/process_payment_intent", process_payment_intent),
    ("POST", "/v1/terminal/readers/{id}/cancel_action", cancel_action),
    (
        "POST",
        "/v1/test_helpers/terminal/readers/{id}/present_payment_method",
        present_payment_method,
    ),
]
"""The Terminal endpoints (retrieves are added by ``stripe_fake_api`` like the others)."""
