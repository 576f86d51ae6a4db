"""The hosted payment page a payer reaches from the QR code, and the bank behind it.

TrueLayer's new hosted page takes the payment in query parameters,
``{page_base}/payments?payment_id=…&resource_token=…&return_uri=…`` (the legacy page used a
``#`` fragment; docs.truelayer.com/docs/hosted-page), and sends the payer back to
``return_uri``, which must be one the client registered in Console. The sandbox walks a short
version of TrueLayer's steps, each a plain HTML form with no script so it works on any phone:

    GET  /payments?…                  choose your bank (opening it starts ``authorizing``)
    POST /payments/{id}/provider      consent: what will be paid, to whom, through which bank
    POST /payments/{id}/consent       → the bank's screen
    GET  /payments/{id}/bank?…        the bank: amount, payee, statement reference;
    POST /payments/{id}/bank          approve or decline
    POST /payments/{id}/cancel        the payer cancels (``user_canceled_at_provider``)
    GET  /payments/{id}/result?…      the outcome, then back to ``return_uri?payment_id=…``

Every step carries the payment's ``resource_token``, so a payment id alone cannot approve
anything, and the ``return_uri``, which is checked against the registered ones each time.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from html import escape
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from litestar import Request, Response, get, post
from litestar.params import FromPath

from server.payments.fakes.open_banking_sandbox_bank import (
    AWAITING_CUSTOMER,
    PaymentStatus,
    SandboxPayment,
    SandboxRefusal,
)
from server.payments.fakes.open_banking_sandbox_gate import Sandbox, sandbox_of

BANKS = {"mock-payments-gb-redirect": "Mock UK Bank"}
"""The sandbox's one bank, under the id of TrueLayer's own sandbox mock provider."""

_SYMBOLS = {"GBP": "£", "EUR": "€"}
_OUTCOMES = {
    PaymentStatus.authorized: "Approved; your bank is sending the payment.",
    PaymentStatus.executed: "Paid. You can close this page.",
    PaymentStatus.settled: "Paid. You can close this page.",
}
_FAILURES = {
    "authorization_failed": "Your bank did not authorise this payment. Nothing was taken.",
    "user_canceled_at_provider": "You cancelled this payment. Nothing was taken.",
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


def return_link(return_uri: str, payment_id: str) -> str:
    """Where TrueLayer sends the payer back: ``return_uri`` with ``payment_id`` appended."""
    parts = urlsplit(return_uri)
    query = f"{parts.query}&" if parts.query else ""
    query += urlencode({"payment_id": payment_id})
    return urlunsplit(parts._replace(query=query))


@get("/payments")
async def choose_bank(request: Request[Any, Any, Any]) -> Response[str]:
    sandbox = sandbox_of(request)
    query = request.query_params
    try:
        payment = _guard(
            sandbox, query.get("payment_id", ""), query.get("resource_token", ""), query
        )
        sandbox.bank.open_page(payment.id)
    except SandboxRefusal as refusal:
        return _refused(refusal)
    if payment.status not in AWAITING_CUSTOMER:
        return _page("Pay by bank", _outcome(sandbox, payment, query))
    buttons = "".join(
        f'<button class="bank" type="submit" name="provider_id" value="{escape(bank_id)}">'
        f"{escape(name)}</button>"
        for bank_id, name in BANKS.items()
    )
    content = (
        _summary(sandbox, payment)
        + "<h2>Choose your bank</h2>"
        + _form(payment, query, "provider", buttons)
        + _cancel_form(payment, query)
    )
    return _page("Pay by bank", content)


@post("/payments/{payment_id:str}/provider")
async def consent(request: Request[Any, Any, Any], payment_id: FromPath[str]) -> Response[str]:
    sandbox = sandbox_of(request)
    form = await _form_fields(request)
    try:
        payment = _guard(sandbox, payment_id, form.get("resource_token", ""), form)
        bank = BANKS.get(form.get("provider_id", ""))
        if bank is None:
            raise SandboxRefusal(400, "invalid-parameters", "Unknown bank", "Choose a bank.")
        sandbox.bank.choose_provider(payment_id, form["provider_id"])
    except SandboxRefusal as refusal:
        return _refused(refusal)
    content = (
        _summary(sandbox, payment)
        + f"<p>You will go to <strong>{escape(bank)}</strong> to approve this payment.</p>"
        + _form(payment, form, "consent", '<button class="approve">Continue to your bank</button>')
        + _cancel_form(payment, form)
    )
    return _page("Confirm", content)


@post("/payments/{payment_id:str}/consent")
async def go_to_bank(request: Request[Any, Any, Any], payment_id: FromPath[str]) -> Response[str]:
    sandbox = sandbox_of(request)
    form = await _form_fields(request)
    try:
        payment = _guard(sandbox, payment_id, form.get("resource_token", ""), form)
    except SandboxRefusal as refusal:
        return _refused(refusal)
    return _see_other(f"/payments/{quote(payment.id)}/bank", payment, form)


@get("/payments/{payment_id:str}/bank")
async def bank_screen(request: Request[Any, Any, Any], payment_id: FromPath[str]) -> Response[str]:
    sandbox = sandbox_of(request)
    query = request.query_params
    try:
        payment = _guard(sandbox, payment_id, query.get("resource_token", ""), query)
    except SandboxRefusal as refusal:
        return _refused(refusal)
    if payment.status not in AWAITING_CUSTOMER:
        return _page("Your bank", _outcome(sandbox, payment, query))
    bank = escape(BANKS.get(payment.provider_id or "", "Your bank"))
    statement = escape(payment.statement_reference or "set by TrueLayer")
    content = (
        f'<p class="bank-name">{bank}</p>'
        + _summary(sandbox, payment)
        + f'<p class="statement">On your statement: <strong>{statement}</strong></p>'
        + _form(
            payment,
            query,
            "bank",
            '<button class="approve" name="decision" value="approve">Approve</button>'
            '<button class="decline" name="decision" value="decline">Decline</button>',
        )
    )
    return _page("Approve payment", content)


@post("/payments/{payment_id:str}/bank")
async def bank_decision(
    request: Request[Any, Any, Any], payment_id: FromPath[str]
) -> Response[str]:
    sandbox = sandbox_of(request)
    form = await _form_fields(request)
    try:
        payment = _guard(sandbox, payment_id, form.get("resource_token", ""), form)
        if form.get("decision") == "approve":
            sandbox.bank.approve(payment_id)
        else:
            sandbox.bank.payer_cancel(payment_id)
    except SandboxRefusal as refusal:
        # Too late (expired, cancelled, already answered): the result shows where it stands.
        if refusal.status in (403, 404) or refusal.slug == "invalid-return-uri":
            return _refused(refusal)
        payment = sandbox.bank.payment(payment_id)
    return _see_other(f"/payments/{quote(payment.id)}/result", payment, form)


@post("/payments/{payment_id:str}/cancel")
async def cancel(request: Request[Any, Any, Any], payment_id: FromPath[str]) -> Response[str]:
    sandbox = sandbox_of(request)
    form = await _form_fields(request)
    try:
        payment = _guard(sandbox, payment_id, form.get("resource_token", ""), form)
        if payment.status in AWAITING_CUSTOMER:
            sandbox.bank.payer_cancel(payment_id)
    except SandboxRefusal as refusal:
        return _refused(refusal)
    return _see_other(f"/payments/{quote(payment.id)}/result", payment, form)


@get("/payments/{payment_id:str}/result")
async def result(request: Request[Any, Any, Any], payment_id: FromPath[str]) -> Response[str]:
    sandbox = sandbox_of(request)
    query = request.query_params
    try:
        payment = _guard(sandbox, payment_id, query.get("resource_token", ""), query)
    except SandboxRefusal as refusal:
        return _refused(refusal)
    back = return_link(query["return_uri"], payment.id)
    # A refresh, not a script: the page still works with scripts off.
    refresh = f'<meta http-equiv="refresh" content="3;url={escape(back)}">'
    return _page("Payment result", _outcome(sandbox, payment, query), head=refresh)


def _guard(
    sandbox: Sandbox, payment_id: str, token: str, fields: Mapping[str, str]
) -> SandboxPayment:
    """The payment, if the token is its own and the return URI is a registered one."""
    payment = sandbox.bank.payment(payment_id)
    if not hmac.compare_digest(payment.resource_token.encode(), token.encode()):
        raise SandboxRefusal(403, "forbidden", "Link not valid", "This payment link is not valid.")
    return_uri = fields.get("return_uri", "")
    parts = urlsplit(return_uri)
    if urlunsplit(parts._replace(query="", fragment="")) not in sandbox.return_uris:
        raise SandboxRefusal(
            400,
            "invalid-return-uri",
            "Return URI not allowed",
            "This return_uri is not registered for the client.",
        )
    return payment


def _summary(sandbox: Sandbox, payment: SandboxPayment) -> str:
    amount = escape(format_amount(payment.amount_in_minor, payment.currency))
    return f'<p class="amount">{amount}</p><p>to <strong>{escape(sandbox.payee_name)}</strong></p>'


def _outcome(sandbox: Sandbox, payment: SandboxPayment, fields: Mapping[str, str]) -> str:
    if payment.failure_reason is not None and payment.status is PaymentStatus.failed:
        reason = payment.failure_reason
        outcome = _FAILURES.get(reason, f"Payment failed ({reason}).")
    else:
        outcome = _OUTCOMES.get(payment.status, "Waiting for you to approve.")
    back = escape(return_link(fields.get("return_uri", ""), payment.id))
    return (
        _summary(sandbox, payment)
        + f'<p class="outcome">{escape(outcome)}</p>'
        + f'<p><a class="return" href="{back}">Back to the restaurant</a></p>'
    )


def _form(payment: SandboxPayment, fields: Mapping[str, str], step: str, buttons: str) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{escape(fields.get(name, ""))}">'
        for name in ("resource_token", "return_uri")
    )
    action = f"/payments/{escape(payment.id)}/{step}"
    return f'<form method="post" action="{action}">{hidden}{buttons}</form>'


def _cancel_form(payment: SandboxPayment, fields: Mapping[str, str]) -> str:
    return _form(payment, fields, "cancel", '<button class="decline">Cancel payment</button>')


def _see_other(path: str, payment: SandboxPayment, form: Mapping[str, str]) -> Response[str]:
    query = urlencode(
        {"resource_token": payment.resource_token, "return_uri": form.get("return_uri", "")}
    )
    return Response(content="", status_code=303, headers={"Location": f"{path}?{query}"})


async def _form_fields(request: Request[Any, Any, Any]) -> dict[str, str]:
    form = await request.form()
    return {name: str(value) for name, value in form.items()}


def _refused(refusal: SandboxRefusal) -> Response[str]:
    return _page(refusal.title, f"<p>{escape(refusal.detail)}</p>", status=refusal.status)


def _page(title: str, content: str, *, status: int = 200, head: str = "") -> Response[str]:
    html = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{head}
<title>{escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 28rem; margin: 2rem auto;
       padding: 0 1rem; text-align: center; }}
.amount {{ font-size: 2.5rem; font-weight: 700; margin: 1rem 0; }}
.statement, .bank-name {{ color: #555; }}
button {{ width: 100%; font-size: 1.25rem; padding: 1rem; margin: .5rem 0;
          border: 0; border-radius: .5rem; }}
.approve, .bank {{ background: #1a7f37; color: #fff; }}
.decline {{ background: #eee; color: #222; }}
</style>
</head>
<body>
<h1>{escape(title)}</h1>
<p>Fynlo sandbox</p>
{content}
</body>
</html>
"""
    return Response(content=html, status_code=status, media_type="text/html; charset=utf-8")
