"""A real Redis for the auth tests; one ``redis-server`` for the whole session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.optional import require
from tests.redis_server import redis_server


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """URL of a throwaway ``redis-server`` (``tests.optional`` says when a missing one skips)."""
    require("redis")
    with redis_server() as server:
        yield server.url
