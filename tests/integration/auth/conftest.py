"""A real Redis for the auth tests; one ``redis-server`` for the whole session."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.redis_server import MISSING, redis_server


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """URL of a throwaway ``redis-server``; a missing binary fails the test, never skips it."""
    if shutil.which("redis-server") is None:
        pytest.fail(MISSING)
    with redis_server() as server:
        yield server.url
