"""An Idempotency-Key is bound to what the body means, not how its bytes are laid out.

The same JSON with its members in another order, or other whitespace, is the same request
and replays the first answer; a different value under the same key is
``idempotency.key_reused``.
"""

from __future__ import annotations

import hashlib
import json
from uuid import UUID, uuid4

import httpx
import pytest

from server.db.engine import DB
from tests.factories import Tenant, make_order
from tests.integration.payments.api import cash
from tests.problems import assert_problem

pytestmark = pytest.mark.usefixtures("cash_only")


def headers_with(tenant: Tenant, key: str) -> dict[str, str]:
    return {**tenant.headers, "Idempotency-Key": key, "Content-Type": "application/json"}


async def post_raw(
    client: httpx.AsyncClient, tenant: Tenant, path: str, key: str, body: str
) -> httpx.Response:
    return await client.post(path, content=body.encode(), headers=headers_with(tenant, key))


async def payments_of(order_id: UUID) -> int:
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM payments WHERE order_id = $1", order_id
        )
    return count


async def test_the_same_json_in_another_order_replays_the_first_answer(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    order_id = await make_order(tenant, seq=1)
    key = str(uuid4())
    first = await post_raw(
        client,
        tenant,
        "/api/v1/payments",
        key,
        f'{{"order_id":"{order_id}","method":"cash","amount":300,"tendered":500}}',
    )
    reordered = await post_raw(
        client,
        tenant,
        "/api/v1/payments",
        key,
        f'{{\n  "tendered": 500,\n  "amount": 300,\n  "method": "cash",\n'
        f'  "order_id": "{order_id}"\n}}',
    )

    assert first.status_code == 201, first.text
    assert (reordered.status_code, reordered.content) == (201, first.content)
    assert await payments_of(order_id) == 1


async def test_a_different_value_under_the_same_key_is_refused(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    order_id = await make_order(tenant, seq=1)
    key = str(uuid4())
    body = {"order_id": str(order_id), "method": "cash", "amount": 300, "tendered": 500}
    first = await post_raw(client, tenant, "/api/v1/payments", key, json.dumps(body))
    assert first.status_code == 201, first.text

    changed = await post_raw(
        client, tenant, "/api/v1/payments", key, json.dumps(body | {"tendered": 1000})
    )
    assert_problem(changed, 409, "idempotency.key_reused")
    assert await payments_of(order_id) == 1


async def test_a_refund_repeated_with_its_members_reordered_is_one_refund(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    payment = (await cash(client, tenant.headers, await make_order(tenant, seq=1), 300)).json()
    path, key = f"/api/v1/payments/{payment['id']}/refunds", str(uuid4())
    first = await post_raw(client, tenant, path, key, '{"amount": 100, "reason": "cold"}')
    again = await post_raw(client, tenant, path, key, '{"reason":"cold","amount":100}')
    other = await post_raw(client, tenant, path, key, '{"reason":"cold","amount":101}')

    assert first.status_code == 201, first.text
    assert (again.status_code, again.content) == (201, first.content)
    assert_problem(other, 409, "idempotency.key_reused")
    listed = await client.get(path, headers=tenant.headers)
    assert [r["amount"] for r in listed.json()] == [100]


async def test_a_key_stored_before_the_change_still_replays_its_exact_bytes(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """Keys live 7 days: one written when bodies were compared byte for byte (its
    fingerprint the hash of the raw body) still answers a byte-identical retry."""
    order_id = await make_order(tenant, seq=1)
    key = str(uuid4())
    body = f'{{"order_id": "{order_id}", "method": "cash", "amount": 300, "tendered": 300}}'
    first = await post_raw(client, tenant, "/api/v1/payments", key, body)
    assert first.status_code == 201, first.text
    legacy = hashlib.sha256(b"POST /api/v1/payments\0" + body.encode()).hexdigest()
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        await conn.execute(
            "UPDATE idempotency_keys SET fingerprint = $3 WHERE restaurant_id = $1 AND key = $2",
            tenant.restaurant_id,
            key,
            legacy,
        )

    again = await post_raw(client, tenant, "/api/v1/payments", key, body)
    assert (again.status_code, again.content) == (201, first.content)
