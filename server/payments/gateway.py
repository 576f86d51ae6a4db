"""The providers this process talks to, each behind its own circuit breaker.

A provider that keeps failing (timeouts, 5xx) opens its circuit: further calls fail at once
with ``ProviderUnavailable`` (a 503 problem+json) instead of making every till wait for a
timeout, until ``provider_circuit_reset_seconds`` pass and one trial call is let through.
Refusals (a declined card, an invalid amount) are answers, not failures, and never open it.
The breaker is purgatory's, not hand-rolled.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import OpenedState

from server.payments.fees import Method
from server.payments.providers.base import Provider, ProviderRefused, ProviderUnavailable

T = TypeVar("T")

PROVIDER_OF: dict[Method, str] = {
    Method.open_banking: "open_banking",
    Method.card: "stripe",
    Method.card_present: "stripe",
    Method.apple_pay: "stripe",
    Method.cash: "cash",
}


class Gateway:
    def __init__(
        self, providers: dict[str, Provider], *, failure_threshold: int, reset_seconds: float
    ) -> None:
        self.providers = providers
        self._breakers = AsyncCircuitBreakerFactory(
            default_threshold=failure_threshold,
            default_ttl=reset_seconds,
            exclude=[ProviderRefused],
        )

    def provider(self, name: str) -> Provider:
        try:
            return self.providers[name]
        except KeyError:
            raise ProviderUnavailable(f"{name} payments are not configured") from None

    async def call(self, name: str, action: Callable[[Provider], Awaitable[T]]) -> T:
        """Run ``action`` against provider ``name`` through its circuit breaker."""
        provider = self.provider(name)
        try:
            breaker = await self._breakers.get_breaker(name)
            async with breaker:
                return await action(provider)
        except OpenedState as exc:
            raise ProviderUnavailable(f"{name} is failing; circuit open") from exc

    async def circuits_open(self) -> dict[str, bool]:
        """Each provider's breaker: True while open (calls fail at once)."""
        states = {}
        for name in self.providers:
            breaker = await self._breakers.get_breaker(name)
            states[name] = breaker.context.state == "opened"
        return states

    async def close(self) -> None:
        for provider in self.providers.values():
            closer = getattr(provider, "aclose", None)
            if closer is not None:
                await closer()


_current: Gateway | None = None


def install(gateway: Gateway | None) -> None:
    global _current
    _current = gateway


def current() -> Gateway:
    if _current is None:
        raise ProviderUnavailable("payments are not configured in this process")
    return _current
