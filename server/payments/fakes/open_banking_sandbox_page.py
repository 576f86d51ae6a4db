"""The hosted payment page a customer reaches from the QR code, standing in for their bank.

Plain HTML forms, no script, so it works on any phone. Opening the page starts authorisation
(``authorizing``); Approve executes the payment, Decline fails it with
``authorization_failed``. The link carries the payment's ``resource_token``, as TrueLayer's
hosted payment page does, so a payment id alone cannot approve anything.
"""

from __future__ import annotations

import hmac
from html import escape
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath

from server.payments.fakes.open_banking_sandbox_bank import (
    AWAITING_CUSTOMER,
    SandboxPayment,
    SandboxRefusal,
)
from server.payments.fakes.open_banking_sandbox_gate import Sandbox, sandbox_of

_SYMBOLS = {"GBP": "£", "EUR": "€"}
_OUTCOMES = {
    "authorization_required": "Waiting for you to approve.",
    "authorizing": "Waiting for you to approve.",
    "authorized": "Approved; your bank is sending the payment.",
    "executed": "Paid. You can close this page.",
}
_FAILURES = {
    "authorization_failed": "You declined this payment. Nothing was taken.",
    "expired": "This payment request has expired. Ask for a new one.",
    "canceled": "The restaurant cancelled this payment request.",
    "provider_rejected": "Your bank did not accept this payment.",
}


def format_amount(amount_in_minor: int, currency: str) -> str:
    """``1234, "GBP"`` → ``£12.34``, with integer arithmetic only."""
    units, minor = divmod(amount_in_minor, 100)
    symbol = _SYMBOLS.get(currency)
    if symbol is None:
        return f"{units:,}.{minor:02d} {currency}"
    return f"{symbol}{units:,}.{minor:02d}"


@get("/checkout")
async def show_page(request: Request[Any, Any, Any]) -> Response[str]:
    """TrueLayer's hosted payment page address: ``/checkout?payment_id=…&resource_token=…``."""
    sandbox = sandbox_of(request)
    payment_id = request.query_params.get("payment_id", "")
    token = request.query_params.get("resource_token", "")
    try:
        payment = _authorised(sandbox, payment_id, token)
        sandbox.bank.open_page(payment_id)
    except SandboxRefusal as refusal:
        return _page(refusal.title, f"<p>{escape(refusal.detail)}</p>", status=refusal.status)
    return _page("Pay by bank", _summary(sandbox, payment, token))


@post("/pay/{payment_id:str}/approve")
async def approve_from_page(
    request: Request[Any, Any, Any], payment_id: FromPath[str]
) -> Response[str]:
    return await _act(request, payment_id, approve=True)


@post("/pay/{payment_id:str}/decline")
async def decline_from_page(
    request: Request[Any, Any, Any], payment_id: FromPath[str]
) -> Response[str]:
    return await _act(request, payment_id, approve=False)


async def _act(request: Request[Any, Any, Any], payment_id: str, *, approve: bool) -> Response[str]:
    sandbox = sandbox_of(request)
    form = await request.form()
    token = str(form.get("resource_token", ""))
    try:
        payment = _authorised(sandbox, payment_id, token)
    except SandboxRefusal as refusal:
        return _page(refusal.title, f"<p>{escape(refusal.detail)}</p>", status=refusal.status)
    title, status = ("Payment approved" if approve else "Payment declined"), 200
    try:
        if approve:
            sandbox.bank.approve(payment_id)
        else:
            sandbox.bank.decline(payment_id)
    except SandboxRefusal as refusal:
        # Too late (expired, cancelled, already answered): show where the payment stands.
        title, status = "Nothing changed", refusal.status
    return _page(title, _summary(sandbox, payment, token), status=status)


def _authorised(sandbox: Sandbox, payment_id: str, token: str) -> SandboxPayment:
    payment = sandbox.bank.payment(payment_id)
    if not hmac.compare_digest(payment.resource_token.encode(), token.encode()):
        raise SandboxRefusal(403, "forbidden", "Link not valid", "This payment link is not valid.")
    return payment


def _summary(sandbox: Sandbox, payment: SandboxPayment, token: str) -> str:
    amount = escape(format_amount(payment.amount_in_minor, payment.currency))
    reference = escape(str(payment.payment_method.get("beneficiary", {}).get("reference", "")))
    details = (
        f'<p class="amount">{amount}</p>'
        f"<p>to <strong>{escape(sandbox.payee_name)}</strong></p>"
        f'<p class="reference">Reference: {reference}</p>'
    )
    if payment.status not in AWAITING_CUSTOMER:
        reason = payment.failure_reason or ""
        outcome = _FAILURES.get(reason, f"Payment failed ({reason}).")
        if payment.failure_reason is None:
            outcome = _OUTCOMES.get(payment.status, payment.status)
        return f'{details}<p class="outcome">{escape(outcome)}</p>'
    hidden = f'<input type="hidden" name="resource_token" value="{escape(token)}">'
    return (
        f"{details}"
        f'<form method="post" action="/pay/{escape(payment.id)}/approve">{hidden}'
        '<button class="approve" type="submit">Approve</button></form>'
        f'<form method="post" action="/pay/{escape(payment.id)}/decline">{hidden}'
        '<button class="decline" type="submit">Decline</button></form>'
    )


def _page(title: str, content: str, *, status: int = 200) -> Response[str]:
    html = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 28rem; margin: 2rem auto;
       padding: 0 1rem; text-align: center; }}
.amount {{ font-size: 2.5rem; font-weight: 700; margin: 1rem 0; }}
.reference {{ color: #555; }}
button {{ width: 100%; font-size: 1.25rem; padding: 1rem; margin: .5rem 0;
          border: 0; border-radius: .5rem; }}
.approve {{ background: #1a7f37; color: #fff; }}
.decline {{ background: #eee; color: #222; }}
</style>
</head>
<body>
<h1>{escape(title)}</h1>
<p>Fynlo sandbox bank</p>
{content}
</body>
</html>
"""
    return Response(content=html, status_code=status, media_type="text/html; charset=utf-8")
