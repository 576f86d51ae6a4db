"""Small helpers for calling the payments API as a till would."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import httpx

from server.db.engine import DB


def keyed(headers: dict[str, str], key: str | None = None) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key or str(uuid4())}


async def pay(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    order_id: UUID,
    *,
    key: str | None = None,
    **body: Any,
) -> httpx.Response:
    return await client.post(
        "/api/v1/payments",
        json={"order_id": str(order_id), **body},
        headers=keyed(headers, key),
    )


async def cash(
    client: httpx.AsyncClient, headers: dict[str, str], order_id: UUID, amount: int, **body: Any
) -> httpx.Response:
    body.setdefault("tendered", amount + body.get("tip", 0))
    return await pay(client, headers, order_id, method="cash", amount=amount, **body)


async def order_payments(
    client: httpx.AsyncClient, headers: dict[str, str], order_id: UUID
) -> dict[str, Any]:
    response = await client.get(f"/api/v1/orders/{order_id}/payments", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def refund(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    payment_id: str,
    *,
    key: str | None = None,
    **body: Any,
) -> httpx.Response:
    body.setdefault("reason", "customer changed their mind")
    return await client.post(
        f"/api/v1/payments/{payment_id}/refunds", json=body, headers=keyed(headers, key)
    )


async def payer_starts(
    client: httpx.AsyncClient,
    payment: dict[str, Any],
    *,
    name: str = "Ada Lovelace",
    email: str = "ada@example.com",
    phone: str = "",
) -> httpx.Response:
    """The diner scans the QR and gives their details on our page (served in-process here):
    the answer is the 303 to TrueLayer's hosted page, or the page again with a problem."""
    link = httpx.URL(payment["qr"]["link"])
    page = await client.get(link.raw_path.decode())
    assert page.status_code in (200, 303), page.text  # 303: started already, on to the bank
    return await client.post(
        link.path,
        data={"t": link.params["t"], "name": name, "email": email, "phone": phone},
    )


async def bank_reference(payment_id: str) -> str:
    """The provider's id of a pay-by-bank payment once its payer started it."""
    assert DB.pool is not None
    reference = await DB.pool.fetchval(
        "SELECT provider_reference FROM payments WHERE id = $1", UUID(payment_id)
    )
    assert reference is not None, "the payer has not started this payment"
    return str(reference)
