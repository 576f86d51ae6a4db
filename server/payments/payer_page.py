"""The pages a diner's phone sees when paying by bank: details, then the bank, then the result.

``GET /pay/{id}?t=…`` (the QR's link) asks for the name and an email or phone number
TrueLayer needs, with the disclosures below; ``POST /pay/{id}`` makes the payment at
TrueLayer and sends the phone on to TrueLayer's hosted page; ``GET /pay/return`` is where
TrueLayer sends it back, and tells the diner to go back to the till. Plain HTML forms, no
script and nothing from another host, so it works on any phone and on a restaurant's LAN.
Public: the secret in the QR's link is the only key, and it starts nothing but this payment.
"""

from __future__ import annotations

from html import escape
from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect

from server.auth.dependencies import PUBLIC
from server.money import format_money
from server.payments import payer
from server.payments.providers.base import ProviderUnavailable
from server.payments.states import PaymentState

_DECLINED = {
    "expired": "This payment request has expired. Ask at the till for a new one.",
    "canceled": "The restaurant cancelled this payment request.",
}


class PayerPages(Controller):
    path = "/pay"
    include_in_schema = False
    opt = PUBLIC

    @get("/{payment_id:uuid}")
    async def details(self, payment_id: FromPath[UUID], t: FromQuery[str] = "") -> Response[Any]:
        try:
            at = await payer.stand(payment_id, t)
        except payer.NotPayable:
            return _not_found()
        if at.state not in _WAITING:
            return _result(at)
        if at.started and at.bank_link:
            return Redirect(at.bank_link, status_code=303)
        return _form(at, t)

    @post("/{payment_id:uuid}", status_code=200)
    async def to_the_bank(
        self, request: Request[Any, Any, Any], payment_id: FromPath[UUID]
    ) -> Response[Any]:
        form = await request.form()
        token = str(form.get("t", ""))
        try:
            at = await payer.stand(payment_id, token)
            if at.state not in _WAITING:
                return _result(at)
            details = payer.payer_from(
                str(form.get("name", "")), str(form.get("email", "")), str(form.get("phone", ""))
            )
            at = await payer.start(payment_id, token, details)
        except payer.NotPayable:
            return _not_found()
        except payer.PayerRefused as refused:
            return _form(at, token, problem=str(refused), status=422, typed=dict(form))
        except ProviderUnavailable:
            return _form(
                at,
                token,
                problem="The bank payment service did not answer. Please try again.",
                status=503,
                typed=dict(form),
            )
        if at.state in _WAITING and at.bank_link:
            return Redirect(at.bank_link, status_code=303)
        return _result(at)

    @get("/return")
    async def back_from_the_bank(self, payment_id: FromQuery[str] = "") -> Response[str]:
        """TrueLayer sends the payer here with its own ``payment_id`` (``qr.return_uri``)."""
        try:
            at = await payer.stand_at_return(payment_id)
        except payer.NotPayable:
            return _not_found()
        return _result(at)


_WAITING = {PaymentState.created, PaymentState.awaiting_customer}


def _form(
    at: payer.Stand,
    token: str,
    *,
    problem: str | None = None,
    status: int = 200,
    typed: dict[str, Any] | None = None,
) -> Response[str]:
    typed = typed or {}

    def value(name: str) -> str:
        return escape(str(typed.get(name, "")), quote=True)

    error = f'<p class="problem" role="alert">{escape(problem)}</p>' if problem else ""
    body = f"""{_summary(at)}
{error}
<form method="post" action="/pay/{at.payment_id}">
<input type="hidden" name="t" value="{escape(token, quote=True)}">
<label>Your name, as your bank knows it
<input name="name" autocomplete="name" required maxlength="140" value="{value("name")}"></label>
<label>Email
<input name="email" type="email" autocomplete="email" maxlength="254" value="{value("email")}">
</label>
<label>or mobile number
<input name="phone" type="tel" autocomplete="tel" maxlength="20" value="{value("phone")}"></label>
<button type="submit">Continue</button>
</form>
<p class="small">Your payment is made by TrueLayer, a payment institution authorised by the
Financial Conduct Authority, straight from your bank account to {escape(at.restaurant)}. The
law requires TrueLayer to know who pays, so your name and email or number go to TrueLayer
with this payment, and are kept with it by {escape(at.restaurant)} and Fynlo, its till
provider, for its records. TrueLayer will show you its own terms before you choose your
bank.</p>"""
    return _page("Pay by bank", body, status=status)


def _result(at: payer.Stand) -> Response[str]:
    if at.state is PaymentState.succeeded:
        title, text = "Paid", "Thank you. Your payment has been made; show this at the till."
    elif at.state in _WAITING or at.state is PaymentState.authorizing:
        title = "Waiting for your bank"
        text = "Your bank is sending the payment. The till will show it as soon as it arrives."
    elif at.state is PaymentState.failed:
        title, text = "Not paid", "The payment did not go through; nothing was taken."
    else:
        title = "Not paid"
        text = _DECLINED.get(at.failure_reason or "", _DECLINED[at.state.value])
    body = f"""{_summary(at)}
<p class="outcome outcome-{escape(at.state.value)}">{escape(text)}</p>
<p>Please go back to the till.</p>"""
    return _page(title, body)


def _summary(at: payer.Stand) -> str:
    return (
        f'<p class="amount">{escape(format_money(at.amount, at.currency))}</p>'
        f"<p>to <strong>{escape(at.restaurant)}</strong>, order {escape(at.order_number)}</p>"
    )


def _not_found() -> Response[str]:
    return _page(
        "Link not valid",
        "<p>This payment link is not valid. Ask at the till for a new QR code.</p>",
        status=404,
    )


def _page(title: str, content: str, *, status: int = 200) -> Response[str]:
    html = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 26rem; margin: 1.5rem auto;
       padding: 0 1rem; color: #1b1b1b; }}
h1 {{ font-size: 1.4rem; }}
.amount {{ font-size: 2.4rem; font-weight: 700; margin: .5rem 0; }}
label {{ display: block; margin: .9rem 0; font-weight: 600; }}
input {{ display: block; width: 100%; box-sizing: border-box; font-size: 1.1rem;
         padding: .7rem; margin-top: .3rem; border: 1px solid #888; border-radius: .4rem; }}
button {{ width: 100%; font-size: 1.2rem; padding: .9rem; margin: 1rem 0; border: 0;
          border-radius: .5rem; background: #14532d; color: #fff; }}
.problem {{ background: #fde8e8; color: #7f1d1d; padding: .7rem; border-radius: .4rem; }}
.small {{ font-size: .85rem; color: #444; }}
.outcome {{ font-size: 1.2rem; }}
</style>
</head>
<body>
<h1>{escape(title)}</h1>
{content}
</body>
</html>
"""
    return Response(
        content=html,
        status_code=status,
        media_type="text/html; charset=utf-8",
        # The page carries the QR's secret: nothing may cache it or frame it.
        headers={
            "Cache-Control": "no-store",
            "X-Frame-Options": "DENY",
            # No form-action: the form's answer sends the phone on to TrueLayer's host.
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline';"
            " frame-ancestors 'none'",
        },
    )
