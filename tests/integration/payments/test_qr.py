"""The pay-by-bank QR flow: a code that works for 15 minutes, then offers the fallback.

The QR opens our payer page; the payment is made at the bank once the payer gives their
details. Here the bank's webhooks never arrive (nobody delivers them), so the poller is what
settles stuck payments, as it must when a provider's webhook is lost.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from uuid import UUID

import httpx
import pytest
from PIL import Image

from server.db.engine import DB
from server.payments import poller
from tests.factories import Tenant, make_order
from tests.fakes.open_banking import OpenBankingSandbox
from tests.integration.payments.api import bank_reference, order_payments, pay, payer_starts
from tests.problems import assert_problem

pytestmark = pytest.mark.usefixtures("with_bank")
PIZZA = [("Pizza", 2500, 1, 2000)]


async def qr_payment(client: httpx.AsyncClient, tenant: Tenant) -> tuple[dict[str, object], UUID]:
    order_id = await make_order(tenant, seq=1, lines=PIZZA)
    response = await pay(client, tenant.headers, order_id, method="open_banking", amount=2500)
    assert response.status_code == 201, response.text
    return response.json(), order_id


async def age(payment_id: object, minutes: int) -> None:
    """Move the payment's own clock back, as if it had been created ``minutes`` ago."""
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        await conn.execute(
            "UPDATE payments SET expires_at = expires_at - $2::interval,"
            " updated_at = updated_at - $2::interval, created_at = created_at - $2::interval"
            " WHERE id = $1",
            UUID(str(payment_id)),
            timedelta(minutes=minutes),
        )


async def test_the_qr_code_opens_our_payer_page_for_15_minutes(
    client: httpx.AsyncClient, tenant: Tenant, open_banking_sandbox: OpenBankingSandbox
) -> None:
    before = (await open_banking_sandbox.stats())["api_requests"]
    payment, _ = await qr_payment(client, tenant)
    assert payment["state"] == "awaiting_customer"
    qr = payment["qr"]
    assert isinstance(qr, dict)
    expires_at = datetime.fromisoformat(qr["expires_at"])
    left = expires_at - datetime.now(UTC)
    assert timedelta(minutes=14) < left <= timedelta(minutes=15)
    link = httpx.URL(qr["link"])
    assert (link.host, link.path) == ("127.0.0.1", f"/pay/{payment['id']}")
    assert len(link.params["t"]) >= 32
    # Nothing is made at the bank until the payer gives the details the bank requires.
    assert (await open_banking_sandbox.stats())["api_requests"] == before
    png = await client.get(qr["png"], headers=tenant.headers)
    assert (png.status_code, png.headers["content-type"]) == (200, "image/png")
    image = Image.open(io.BytesIO(png.content))
    assert image.size[0] == image.size[1] > 200
    svg = await client.get(qr["svg"], headers=tenant.headers)
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.text.startswith("<svg") and "<path" in svg.text


async def test_the_payer_gives_their_details_then_pays_at_the_bank(
    client: httpx.AsyncClient, tenant: Tenant, open_banking_sandbox: OpenBankingSandbox
) -> None:
    payment, order_id = await qr_payment(client, tenant)
    page = await client.get(httpx.URL(payment["qr"]["link"]).raw_path.decode())
    assert page.status_code == 200 and "£25.00" in page.text and "TrueLayer" in page.text
    assert page.headers["cache-control"] == "no-store"
    started = await payer_starts(client, payment)
    assert started.status_code == 303, started.text
    bank_page = httpx.URL(started.headers["location"])
    reference = await bank_reference(payment["id"])
    # TrueLayer's hosted page on its own host, with the return URI it must send them back to.
    assert bank_page.path == "/payments"
    assert bank_page.params["payment_id"] == reference
    assert bank_page.params["return_uri"] == "http://127.0.0.1:8000/pay/return"
    at_bank = await open_banking_sandbox.control("GET", f"/_sandbox/payments/{reference}")
    assert at_bank["user"]["name"] == "Ada Lovelace"
    assert at_bank["user"]["email"] == "ada@example.com"
    # A second press of the button makes no second payment.
    again = await payer_starts(client, payment)
    assert again.headers["location"] == started.headers["location"]
    assert (await open_banking_sandbox.stats())["payments"] == 1
    await open_banking_sandbox.approve(reference)
    await age(payment["id"], 3)  # quiet for 3 minutes: the poller asks the bank
    report = await poller.sweep()
    assert report.moved >= 1
    summary = await order_payments(client, tenant.headers, order_id)
    assert (summary["order_status"], summary["payments"][0]["state"]) == ("paid", "succeeded")
    gone = await client.get(f"/api/v1/payments/{payment['id']}/qr.png", headers=tenant.headers)
    assert_problem(gone, 410, "payment.qr_expired")
    back = await client.get("/pay/return", params={"payment_id": reference})
    assert back.status_code == 200 and "Paid" in back.text and "till" in back.text


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ({"name": "", "email": "ada@example.com"}, "your name"),
        ({"name": "Ada Lovelace", "email": "", "phone": ""}, "email address or a phone"),
        ({"name": "Ada Lovelace", "email": "not-an-email"}, "email address does not"),
        ({"name": "Ada Lovelace", "email": "", "phone": "12345"}, "country code"),
    ],
)
async def test_details_the_bank_would_refuse_are_asked_again(
    client: httpx.AsyncClient,
    tenant: Tenant,
    open_banking_sandbox: OpenBankingSandbox,
    typed: dict[str, str],
    problem: str,
) -> None:
    payment, _ = await qr_payment(client, tenant)
    answer = await payer_starts(client, payment, **typed)
    assert answer.status_code == 422, answer.text
    assert problem in answer.text
    assert (await open_banking_sandbox.stats())["payments"] == 0


async def test_a_uk_mobile_number_alone_will_do(
    client: httpx.AsyncClient, tenant: Tenant, open_banking_sandbox: OpenBankingSandbox
) -> None:
    payment, _ = await qr_payment(client, tenant)
    started = await payer_starts(client, payment, email="", phone="07700 900123")
    assert started.status_code == 303, started.text
    reference = await bank_reference(payment["id"])
    at_bank = await open_banking_sandbox.control("GET", f"/_sandbox/payments/{reference}")
    assert at_bank["user"]["phone"] == "+447700900123"


async def test_a_wrong_link_opens_nothing(client: httpx.AsyncClient, tenant: Tenant) -> None:
    payment, _ = await qr_payment(client, tenant)
    page = await client.get(f"/pay/{payment['id']}", params={"t": "guessed"})
    assert page.status_code == 404 and "not valid" in page.text
    answer = await client.post(
        f"/pay/{payment['id']}", data={"t": "guessed", "name": "Eve", "email": "e@example.com"}
    )
    assert answer.status_code == 404


async def test_an_abandoned_qr_expires_and_offers_card_and_apple_pay(
    client: httpx.AsyncClient, tenant: Tenant, open_banking_sandbox: OpenBankingSandbox
) -> None:
    before = (await open_banking_sandbox.stats())["api_requests"]
    payment, order_id = await qr_payment(client, tenant)
    await age(payment["id"], 16)
    expired_qr = await client.get(
        f"/api/v1/payments/{payment['id']}/qr.svg", headers=tenant.headers
    )
    assert_problem(expired_qr, 410, "payment.qr_expired")
    report = await poller.sweep()
    assert report.expired >= 1
    got = (await client.get(f"/api/v1/payments/{payment['id']}", headers=tenant.headers)).json()
    assert (got["state"], got["failure_reason"], got["qr"]) == ("expired", "expired", None)
    assert got["fallback"][:2] == ["card", "apple_pay"]
    # Nobody scanned it, so the bank was never asked anything.
    assert (await open_banking_sandbox.stats())["api_requests"] == before
    # A payer who scans it now is told it has expired.
    late = await client.get(httpx.URL(payment["qr"]["link"]).raw_path.decode())
    assert late.status_code == 200 and "expired" in late.text
    fallback = await pay(
        client,
        tenant.headers,
        order_id,
        method="card",
        amount=2500,
        payment_method="pm_card_visa",
    )
    assert fallback.json()["state"] == "succeeded"
    assert (await order_payments(client, tenant.headers, order_id))["order_status"] == "paid"


async def test_staff_can_cancel_a_qr_nobody_scanned_without_asking_the_bank(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    payment, order_id = await qr_payment(client, tenant)
    cancel = await client.post(
        f"/api/v1/payments/{payment['id']}/cancel",
        headers={**tenant.headers, "Idempotency-Key": "cancel-0"},
    )
    assert cancel.json()["state"] == "canceled"
    page = await client.get(httpx.URL(payment["qr"]["link"]).raw_path.decode())
    assert "cancelled" in page.text
    assert (await order_payments(client, tenant.headers, order_id))["remaining"] == 2500


async def test_staff_can_cancel_a_qr_and_the_bank_hears_of_it(
    client: httpx.AsyncClient, tenant: Tenant, open_banking_sandbox: OpenBankingSandbox
) -> None:
    payment, order_id = await qr_payment(client, tenant)
    assert (await payer_starts(client, payment)).status_code == 303
    reference = await bank_reference(payment["id"])
    cancel = await client.post(
        f"/api/v1/payments/{payment['id']}/cancel",
        headers={**tenant.headers, "Idempotency-Key": "cancel-1"},
    )
    assert cancel.json()["state"] == "canceled"
    at_bank = await open_banking_sandbox.provider().status(reference)
    assert at_bank.state == "canceled"
    assert (await order_payments(client, tenant.headers, order_id))["remaining"] == 2500


async def test_a_qr_is_for_pay_by_bank_only(client: httpx.AsyncClient, tenant: Tenant) -> None:
    order_id = await make_order(tenant, seq=1)
    cash = (
        await pay(client, tenant.headers, order_id, method="cash", amount=300, tendered=300)
    ).json()
    assert cash["qr"] is None
    response = await client.get(f"/api/v1/payments/{cash['id']}/qr.png", headers=tenant.headers)
    assert_problem(response, 404, "not_found")


async def test_a_cancel_that_comes_too_late_reports_the_payment_as_it_is(
    client: httpx.AsyncClient, tenant: Tenant, open_banking_sandbox: OpenBankingSandbox
) -> None:
    """The customer approved just before staff pressed cancel: the money is taken, so say so."""
    payment, order_id = await qr_payment(client, tenant)
    assert (await payer_starts(client, payment)).status_code == 303
    reference = await bank_reference(payment["id"])
    await open_banking_sandbox.approve(reference)
    cancel = await client.post(
        f"/api/v1/payments/{payment['id']}/cancel",
        headers={**tenant.headers, "Idempotency-Key": "cancel-late"},
    )
    assert (cancel.status_code, cancel.json()["state"]) == (200, "succeeded")
    assert (await order_payments(client, tenant.headers, order_id))["order_status"] == "paid"
