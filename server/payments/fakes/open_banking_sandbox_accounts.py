"""The sandbox's merchant accounts: one per currency, each with the balances refunds draw on.

TrueLayer gives every sandbox client one GBP and one EUR merchant account, and a client has at
most one merchant account per currency; a GBP account only takes and pays out GBP
(docs.truelayer.com/docs/merchant-accounts). ``GET /v3/merchant-accounts[/{id}]`` shows each
with its ``account_identifiers``, ``available_balance_in_minor``,
``current_balance_in_minor`` and ``account_holder_name`` (TrueLayer/truelayer-dotnet
``src/TrueLayer/MerchantAccounts/Model/MerchantAccount.cs``).

``current`` is the money in the account; ``available`` is what is left once refunds already
on their way out are set aside, so a refund only starts when ``available`` covers it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DEFAULT_MERCHANT_ACCOUNTS = {
    "GBP": "6b4b5e0c-4c8e-4a57-9d6c-0b7e6c2f5a11",
    "EUR": "1f0c3c2e-8a7d-4c55-b0b1-54d1c4a3e9f2",
}
"""Currency → merchant account id, as a sandbox client finds them in Console."""

# Made-up but well-formed identifiers: a sandbox account is never paid from outside.
_IDENTIFIERS = {
    "GBP": [
        {"type": "sort_code_account_number", "sort_code": "040662", "account_number": "00002723"},
        {"type": "iban", "iban": "GB53CLRB04066200002723"},
    ],
    "EUR": [{"type": "iban", "iban": "GB45CLRB04066800012315"}],
}


@dataclass
class MerchantAccount:
    id: str
    currency: str
    account_holder_name: str
    current_balance_in_minor: int = 0
    available_balance_in_minor: int = 0

    def credit(self, amount_in_minor: int) -> None:
        """Money arrived (a payment settled, a refund came back)."""
        self.current_balance_in_minor += amount_in_minor
        self.available_balance_in_minor += amount_in_minor

    def reserve(self, amount_in_minor: int) -> bool:
        """Set ``amount_in_minor`` aside for a refund; False when the balance cannot cover it."""
        if amount_in_minor > self.available_balance_in_minor:
            return False
        self.available_balance_in_minor -= amount_in_minor
        return True

    def release(self, amount_in_minor: int) -> None:
        """A reserved refund failed before it left: its money is available again."""
        self.available_balance_in_minor += amount_in_minor

    def pay_out(self, amount_in_minor: int) -> None:
        """A reserved refund left the account."""
        self.current_balance_in_minor -= amount_in_minor

    def take_back(self, amount_in_minor: int) -> None:
        """Money that had settled went back to the payer (a reversal)."""
        self.current_balance_in_minor -= amount_in_minor
        self.available_balance_in_minor -= amount_in_minor

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "currency": self.currency,
            "account_identifiers": _IDENTIFIERS.get(self.currency, []),
            "available_balance_in_minor": self.available_balance_in_minor,
            "current_balance_in_minor": self.current_balance_in_minor,
            "account_holder_name": self.account_holder_name,
        }


def open_accounts(by_currency: dict[str, str], holder: str) -> dict[str, MerchantAccount]:
    """The accounts by id; refuses two accounts for one currency, as TrueLayer does."""
    if len(set(by_currency.values())) != len(by_currency):
        raise ValueError("each currency needs its own merchant account id")
    return {
        account_id: MerchantAccount(id=account_id, currency=currency, account_holder_name=holder)
        for currency, account_id in by_currency.items()
    }
