"""A restaurant's own pay-by-bank merchant accounts, one per currency.

TrueLayer keeps a merchant account per currency (docs.truelayer.com/docs/merchant-accounts).
By default every restaurant is paid into the platform's account for the currency
(``FYNLO_OPEN_BANKING_MERCHANT_ACCOUNTS``); a restaurant with its own TrueLayer account
names it here, and its payments made after that are paid into it. Where money goes is the
owner's decision alone.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg

from server.auth.tables import Role
from server.db.engine import connection, transaction
from server.errors import Forbidden
from server.payments import schemas as s


async def list_accounts(*, restaurant_id: UUID) -> list[s.MerchantAccount]:
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT currency, merchant_account_id, updated_at FROM merchant_accounts"
            " WHERE restaurant_id = $1 ORDER BY currency",
            restaurant_id,
        )
    return [_account(row) for row in rows]


async def set_account(
    *, restaurant_id: UUID, role: Role | None, currency: str, data: s.MerchantAccountSetup
) -> s.MerchantAccount:
    if role is not Role.owner:
        raise Forbidden("only an owner says where the restaurant is paid", reason="owner_only")
    async with transaction() as conn:
        row = await conn.fetchrow(
            "INSERT INTO merchant_accounts (restaurant_id, currency, merchant_account_id)"
            " VALUES ($1, $2, $3) ON CONFLICT (restaurant_id, currency) DO UPDATE"
            " SET merchant_account_id = excluded.merchant_account_id, updated_at = now()"
            " RETURNING currency, merchant_account_id, updated_at",
            restaurant_id,
            currency,
            data.merchant_account_id,
        )
    return _account(row)


def _account(row: asyncpg.Record) -> s.MerchantAccount:
    return s.MerchantAccount(
        currency=row["currency"].strip(),
        merchant_account_id=row["merchant_account_id"],
        updated_at=row["updated_at"],
    )
