"""A pay-by-bank sandbox shaped like TrueLayer's Payments API v3, for `make run` and tests.

Assembly only: the bank (``_bank``), its merchant accounts (``_accounts``), the auth server
and its access tokens (``_auth``), the gate every API call passes (``_gate``), the payments API
(``_api``), merchant accounts and their transactions (``_merchant``), the hosted payment page
(``_page``, on the API's own port as ``/payments?…``), webhook bodies (``_events``) and their
signed delivery (``_webhooks``) and the test controls (``_controls``) live in the
``open_banking_sandbox_*`` modules beside this one. The shapes it is held to are written down
in ``tests/fakes/truelayer-reference/``.

Serve it with ``server.payments.fakes.runner.serve_in_thread``. Links and the webhook
signature's ``jku`` need the sandbox's own URL: pass ``public_url`` when it is known, call
:func:`bind_public_url` once the port is bound, or let the first request teach it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Collection, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
from litestar import Litestar, Request, Response, get
from litestar.datastructures import State

from server.payments.fakes import (
    open_banking_sandbox_api as api,
)
from server.payments.fakes import (
    open_banking_sandbox_controls as controls,
)
from server.payments.fakes import (
    open_banking_sandbox_merchant as merchant,
)
from server.payments.fakes import (
    open_banking_sandbox_page as page,
)
from server.payments.fakes.keys import public_jwk, public_key_pem
from server.payments.fakes.open_banking_sandbox_accounts import (
    DEFAULT_MERCHANT_ACCOUNTS,
    open_accounts,
)
from server.payments.fakes.open_banking_sandbox_auth import ONE_HOUR, AccessTokens, issue_token
from server.payments.fakes.open_banking_sandbox_bank import Bank, SandboxClock, SandboxRefusal
from server.payments.fakes.open_banking_sandbox_gate import Sandbox, problem, sandbox_of
from server.payments.fakes.open_banking_sandbox_webhooks import DELIVERY_TIMEOUT_SECONDS, Outbox
from server.payments.providers.open_banking import DEFAULT_WEBHOOK_PATH

SWEEP_SECONDS = 1.0
FIFTEEN_MINUTES = 900
DEFAULT_RETURN_URI = "http://127.0.0.1/pay-by-bank/return"
"""The one return URI a sandbox accepts unless it is given its own list."""
# TrueLayer pages merchant account transactions a thousand at a time.
TRANSACTIONS_PAGE_SIZE = 1000

log = logging.getLogger("fynlo.payments.open_banking_sandbox")


def create_sandbox(
    *,
    client_public_key_pem: str,
    client_kid: str,
    signing_private_key_pem: str,
    signing_kid: str,
    webhook_url: str | None,
    client_id: str,
    client_secret: str,
    public_url: str | None = None,
    expiry_seconds: int = FIFTEEN_MINUTES,
    refund_seconds: int = 5,
    settle_seconds: int = 0,
    payee_name: str = "Fynlo Sandbox Restaurant",
    token_seconds: int = ONE_HOUR,
    transactions_page_size: int = TRANSACTIONS_PAGE_SIZE,
    merchant_accounts: Mapping[str, str] = DEFAULT_MERCHANT_ACCOUNTS,
    return_uris: Collection[str] = (DEFAULT_RETURN_URI,),
) -> Litestar:
    """The sandbox as an ASGI app.

    Args:
        client_public_key_pem: verifies the ``Tl-Signature`` of every API write.
        client_kid: the key id the client must sign with.
        signing_private_key_pem: signs webhooks; its public half is served as the JWKS.
        signing_kid: the ``kid`` of that key.
        webhook_url: where events are POSTed (127.0.0.1 only); None records them only.
        public_url: the sandbox's own base URL, for payment page links and the ``jku``.
        expiry_seconds: how long a payment may wait for the customer before it expires.
        refund_seconds: how long (on the sandbox clock) a refund stays pending once the
            merchant account's balance covers it.
        settle_seconds: how long (on the sandbox clock) an approved payment stays
            ``executed`` before it settles; 0 settles it on the next look.
        payee_name: the restaurant name the payment page shows and the accounts are held in.
        client_id: the one client ``/connect/token`` issues access tokens to.
        client_secret: that client's secret.
        token_seconds: how long (on the sandbox clock) an access token lives.
        transactions_page_size: merchant account transactions per page.
        merchant_accounts: currency → merchant account id, one account per currency.
        return_uris: the registered return URIs (without query); the hosted page refuses
            any other.
    """
    if transactions_page_size < 1 or token_seconds < 1 or settle_seconds < 0:
        raise ValueError("transactions_page_size and token_seconds must be positive")
    clock = SandboxClock()
    outbox = Outbox(
        signing_kid=signing_kid,
        signing_private_key_pem=signing_private_key_pem,
        webhook_url=webhook_url,
        default_path=DEFAULT_WEBHOOK_PATH,
    )
    bank = Bank(
        clock=clock,
        accounts=open_accounts(dict(merchant_accounts), payee_name),
        expiry_seconds=expiry_seconds,
        refund_seconds=refund_seconds,
        settle_seconds=settle_seconds,
        emit=outbox.publish,
    )
    sandbox = Sandbox(
        bank=bank,
        outbox=outbox,
        tokens=AccessTokens(
            client_id=client_id,
            client_secret=client_secret,
            clock=clock,
            lifetime_seconds=token_seconds,
        ),
        client_public_key_pem=client_public_key_pem,
        client_kid=client_kid,
        jwks={"keys": [public_jwk(public_key_pem(signing_private_key_pem), kid=signing_kid)]},
        payee_name=payee_name,
        transactions_page_size=transactions_page_size,
        return_uris=frozenset(return_uris),
    )
    if public_url is not None:
        sandbox.set_public_url(public_url)
    return Litestar(
        route_handlers=[
            jwks,
            issue_token,
            api.create_payment,
            api.read_payment,
            api.cancel_payment,
            api.create_refund,
            api.list_refunds,
            api.read_refund,
            merchant.list_accounts,
            merchant.read_account,
            merchant.list_transactions,
            page.choose_bank,
            page.consent,
            page.go_to_bank,
            page.bank_screen,
            page.bank_decision,
            page.cancel,
            page.result,
            controls.advance_clock,
            controls.plan_faults,
            controls.stats,
            controls.act_as_customer,
            controls.inspect_payment,
            controls.change_balance,
            controls.fail_refund,
            controls.list_webhooks,
            controls.redeliver_webhook,
        ],
        state=State({"sandbox": sandbox}),
        before_request=_learn_public_url,
        exception_handlers={SandboxRefusal: _refusal},
        lifespan=[_background],
        openapi_config=None,
        logging_config=None,
    )


def bind_public_url(app: Litestar, url: str) -> None:
    """Tell a sandbox its own base URL once ``serve_in_thread`` has bound a port."""
    sandbox = app.state.sandbox
    if not isinstance(sandbox, Sandbox):
        raise TypeError("not an open banking sandbox app")
    sandbox.set_public_url(url)


@get("/.well-known/jwks.json")
async def jwks(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return sandbox_of(request).jwks


async def _learn_public_url(request: Request[Any, Any, Any]) -> None:
    sandbox = sandbox_of(request)
    if sandbox.public_url is None:
        sandbox.set_public_url(str(request.base_url))


def _refusal(_: Request[Any, Any, Any], refusal: SandboxRefusal) -> Response[bytes]:
    return problem(refusal)


@asynccontextmanager
async def _background(app: Litestar) -> AsyncIterator[None]:
    """Sweep expiries, settlements and refunds every second, and deliver webhooks, while serving."""
    sandbox: Sandbox = app.state.sandbox
    async with httpx.AsyncClient(timeout=DELIVERY_TIMEOUT_SECONDS, trust_env=False) as http:
        tasks = [
            asyncio.create_task(_sweep_forever(sandbox.bank)),
            asyncio.create_task(sandbox.outbox.deliver_forever(http)),
        ]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def _sweep_forever(bank: Bank) -> None:
    while True:
        await asyncio.sleep(SWEEP_SECONDS)
        try:
            bank.sweep()
        except Exception:
            # One bad sweep must not end expiry for the rest of the sandbox's life.
            log.exception("sandbox sweep failed")
