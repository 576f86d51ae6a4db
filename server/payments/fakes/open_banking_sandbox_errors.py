"""What every part of the sandbox shares: its refusals and its movable clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class SandboxRefusal(Exception):
    """A request the sandbox answers with a TrueLayer-style problem instead of an effect."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str,
        *,
        errors: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.errors = errors


def invalid(errors: dict[str, list[str]]) -> SandboxRefusal:
    """TrueLayer's 400: ``errors`` maps each bad field's path to what is wrong with it."""
    detail = "; ".join(f"{path}: {', '.join(why)}" for path, why in errors.items())
    return SandboxRefusal(400, "invalid-parameters", "Invalid Parameters", detail, errors=errors)


class SandboxClock:
    """Wall-clock time plus an offset that tests move forward instead of sleeping."""

    def __init__(self) -> None:
        self._offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> None:
        self._offset += timedelta(seconds=seconds)
