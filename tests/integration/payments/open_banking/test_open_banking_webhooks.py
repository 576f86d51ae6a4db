"""Webhook verification: what a TrueLayer-shaped webhook must pass before it changes anything.

Each test starts from a genuine webhook the sandbox signed, then breaks one thing about it.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from server.payments.fakes.keys import generate_key_pair
from server.payments.fakes.open_banking_sandbox_bank import rfc3339
from server.payments.providers import open_banking_webhooks
from server.payments.providers.base import ProviderUnavailable, WebhookRejected
from server.payments.providers.open_banking_signing import SignatureInvalid, verify_with_jwk
from server.payments.providers.open_banking_webhooks import JwksCache, WebhookVerifier
from server.payments.states import PaymentState
from tests.fakes.open_banking import OpenBankingSandbox, new_bank_payment, signed_webhook

JWKS_URL = "http://127.0.0.1/.well-known/jwks.json"
# TrueLayer's own published webhook test vector (TrueLayer/truelayer-signing test-resources),
# copied because the truelayer-signing wheel does not ship it.
SIGNING_REFERENCE = Path(__file__).parents[3] / "fakes" / "truelayer-reference" / "signing"


class TestTrueLayersPublishedWebhook:
    """The webhook TrueLayer signed for every signing library's tests verifies with ours."""

    def published(self) -> tuple[dict[str, Any], dict[str, str], str, dict[str, Any]]:
        vector = json.loads((SIGNING_REFERENCE / "webhook.json").read_text())
        signature = (SIGNING_REFERENCE / "webhook-signature.txt").read_text().strip()
        jwks = json.loads((SIGNING_REFERENCE / "jwks.json").read_text())
        headers = dict(vector["headers"]) | {"Tl-Signature": signature}
        return vector, headers, vector["body"], jwks

    def verifier(self, vector: dict[str, Any], http: httpx.AsyncClient) -> WebhookVerifier:
        signed_at = datetime.fromisoformat(vector["headers"]["X-Tl-webhook-Timestamp"])
        return WebhookVerifier(
            keys=JwksCache(http=http, url=vector["jku"]),
            jwks_url=vector["jku"],
            webhook_path=vector["path"],
            clock=lambda: signed_at,
        )

    def test_our_signing_wrapper_verifies_it(self) -> None:
        vector, headers, body, jwks = self.published()
        [key] = [k for k in jwks["keys"] if k["kty"] == "EC"]

        verify_with_jwk(
            jwk=key,
            signature=headers["Tl-Signature"],
            path=vector["path"],
            headers=headers,
            required_headers=["X-Tl-Webhook-Timestamp"],
            body=body,
        )
        with pytest.raises(SignatureInvalid):
            verify_with_jwk(
                jwk=key,
                signature=headers["Tl-Signature"],
                path=vector["path"],
                headers=headers,
                required_headers=["X-Tl-Webhook-Timestamp"],
                body=body.replace("example", "exampl3"),
            )

    async def test_our_webhook_verifier_accepts_its_signature_and_only_its_body(self) -> None:
        vector, headers, body, jwks = self.published()
        transport = httpx.MockTransport(lambda _: httpx.Response(200, json=jwks))
        async with httpx.AsyncClient(transport=transport) as http:
            verifier = self.verifier(vector, http)

            # The signature verifies; the example body is not a payment event, so it stops there.
            with pytest.raises(WebhookRejected, match="not a webhook"):
                await verifier.verify(headers, body.encode())
            with pytest.raises(WebhookRejected, match="does not verify"):
                await verifier.verify(headers, body.replace("example", "exampl3").encode())


class TestWebhookVerification:
    """Everything a webhook must pass before it may change a payment."""

    async def executed_webhook(self, sandbox: OpenBankingSandbox) -> dict[str, Any]:
        provider = sandbox.provider()
        created = await provider.create(new_bank_payment(700, reference="Order 7"))
        await sandbox.approve(created.reference)
        [webhook] = await sandbox.webhooks("payment_executed")
        return webhook

    def sign_as_sandbox(
        self,
        sandbox: OpenBankingSandbox,
        body: str,
        *,
        timestamp: datetime | None = None,
        jku: str | None = None,
        private_key_pem: str | None = None,
    ) -> dict[str, str]:
        return signed_webhook(
            body,
            private_key_pem=private_key_pem or sandbox.signing_private_key_pem,
            kid=sandbox.signing_kid,
            jku=jku or sandbox.jwks_url,
            path=sandbox.webhook_path,
            timestamp=rfc3339(timestamp or datetime.now(UTC)),
        )

    async def test_a_genuine_webhook_verifies_whatever_the_header_case(
        self, open_banking_sandbox: OpenBankingSandbox
    ) -> None:
        webhook = await self.executed_webhook(open_banking_sandbox)
        lowered = {name.lower(): value for name, value in webhook["headers"].items()}

        event = await open_banking_sandbox.provider().verify_webhook(
            lowered, webhook["body"].encode()
        )

        assert event is not None and event.state is PaymentState.succeeded

    async def test_a_webhook_signed_with_another_key_is_rejected(
        self, open_banking_sandbox: OpenBankingSandbox
    ) -> None:
        webhook = await self.executed_webhook(open_banking_sandbox)
        forger_key, _ = generate_key_pair()
        headers = self.sign_as_sandbox(
            open_banking_sandbox, webhook["body"], private_key_pem=forger_key
        )

        with pytest.raises(WebhookRejected, match="does not verify"):
            await open_banking_sandbox.provider().verify_webhook(headers, webhook["body"].encode())

    async def test_a_tampered_body_is_rejected(
        self, open_banking_sandbox: OpenBankingSandbox
    ) -> None:
        webhook = await self.executed_webhook(open_banking_sandbox)
        tampered = webhook["body"].replace("payment_executed", "payment_settled")

        with pytest.raises(WebhookRejected):
            await open_banking_sandbox.provider().verify_webhook(
                webhook["headers"], tampered.encode()
            )

    @pytest.mark.parametrize("skew", [-301, 301], ids=["stale", "from-the-future"])
    async def test_a_timestamp_more_than_300_seconds_off_is_rejected(
        self, open_banking_sandbox: OpenBankingSandbox, skew: int
    ) -> None:
        webhook = await self.executed_webhook(open_banking_sandbox)
        moment = datetime.now(UTC) + timedelta(seconds=skew)
        headers = self.sign_as_sandbox(open_banking_sandbox, webhook["body"], timestamp=moment)
        # The sandbox's own recording, checked by a server whose clock has moved on.
        late_clock = open_banking_sandbox.provider(
            clock=lambda: datetime.now(UTC) - timedelta(seconds=skew)
        )

        with pytest.raises(WebhookRejected, match="300"):
            await open_banking_sandbox.provider().verify_webhook(headers, webhook["body"].encode())
        with pytest.raises(WebhookRejected, match="300"):
            await late_clock.verify_webhook(webhook["headers"], webhook["body"].encode())

    async def test_a_missing_timestamp_is_rejected(
        self, open_banking_sandbox: OpenBankingSandbox
    ) -> None:
        webhook = await self.executed_webhook(open_banking_sandbox)
        headers = dict(webhook["headers"])
        del headers["X-TL-Webhook-Timestamp"]

        with pytest.raises(WebhookRejected, match="missing"):
            await open_banking_sandbox.provider().verify_webhook(headers, webhook["body"].encode())

    async def test_a_jku_other_than_ours_is_rejected_without_fetching_it(
        self, open_banking_sandbox: OpenBankingSandbox
    ) -> None:
        webhook = await self.executed_webhook(open_banking_sandbox)
        body = webhook["body"].encode()
        # Nobody answers at this JWKS URL, so any fetch would end in ProviderUnavailable.
        silent = "http://127.0.0.1:1/.well-known/jwks.json"
        provider = open_banking_sandbox.provider(jwks_url=silent)

        with pytest.raises(WebhookRejected, match="jku"):
            await provider.verify_webhook(webhook["headers"], body)
        with pytest.raises(WebhookRejected, match="jku"):
            attacker = "http://127.0.0.1:2/.well-known/jwks.json"
            headers = self.sign_as_sandbox(open_banking_sandbox, webhook["body"], jku=attacker)
            await open_banking_sandbox.provider().verify_webhook(headers, body)
        with pytest.raises(ProviderUnavailable):
            headers = self.sign_as_sandbox(open_banking_sandbox, webhook["body"], jku=silent)
            await provider.verify_webhook(headers, body)

    async def test_a_kid_the_jwks_does_not_hold_is_rejected(
        self, open_banking_sandbox: OpenBankingSandbox
    ) -> None:
        webhook = await self.executed_webhook(open_banking_sandbox)
        forger_key, _ = generate_key_pair()
        headers = signed_webhook(
            webhook["body"],
            private_key_pem=forger_key,
            kid="forger",
            jku=open_banking_sandbox.jwks_url,
            path=open_banking_sandbox.webhook_path,
            timestamp=rfc3339(datetime.now(UTC)),
        )

        with pytest.raises(WebhookRejected, match="kid"):
            await open_banking_sandbox.provider().verify_webhook(headers, webhook["body"].encode())

    async def test_a_signed_body_that_is_not_json_is_rejected(
        self, open_banking_sandbox: OpenBankingSandbox
    ) -> None:
        body = "this is not json"
        headers = self.sign_as_sandbox(open_banking_sandbox, body)

        with pytest.raises(WebhookRejected, match="not a webhook"):
            await open_banking_sandbox.provider().verify_webhook(headers, body.encode())

    async def test_a_genuine_event_we_do_not_act_on_is_none(
        self, open_banking_sandbox: OpenBankingSandbox
    ) -> None:
        body = msgspec.json.encode(
            {"type": "payout_executed", "event_id": str(uuid.uuid4()), "event_version": 1}
        ).decode()
        headers = self.sign_as_sandbox(open_banking_sandbox, body)

        assert await open_banking_sandbox.provider().verify_webhook(headers, body.encode()) is None


class TestJwksCache:
    """Keys come from the one JWKS URL, refetched for an unknown kid but not for every one."""

    def jwks_server(self, served: list[list[str]], fetches: list[int]) -> httpx.MockTransport:
        """Serves ``served[n]`` as the kids on the n-th fetch (the last one after that)."""

        def answer(request: httpx.Request) -> httpx.Response:
            kids = served[min(fetches[0], len(served) - 1)]
            fetches[0] += 1
            return httpx.Response(200, json={"keys": [{"kid": kid, "kty": "EC"} for kid in kids]})

        return httpx.MockTransport(answer)

    async def test_a_rotated_key_is_found_by_one_refetch(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(open_banking_webhooks, "REFETCH_AFTER_SECONDS", 0.0)
        fetches = [0]
        transport = self.jwks_server([["old"], ["old", "new"]], fetches)
        async with httpx.AsyncClient(transport=transport) as http:
            cache = JwksCache(http=http, url=JWKS_URL)

            assert (await cache.key("old") or {}).get("kid") == "old"
            assert (await cache.key("old") or {}).get("kid") == "old"
            assert fetches == [1]
            assert (await cache.key("new") or {}).get("kid") == "new"
            assert fetches == [2]
            assert await cache.key("forged") is None
            assert fetches == [3]

    async def test_unknown_kids_in_a_burst_cost_one_fetch(self) -> None:
        fetches = [0]
        transport = self.jwks_server([["current"]], fetches)
        async with httpx.AsyncClient(transport=transport) as http:
            cache = JwksCache(http=http, url=JWKS_URL)

            for kid in ("forged-1", "forged-2", "forged-3"):
                assert await cache.key(kid) is None

        assert fetches == [1]
