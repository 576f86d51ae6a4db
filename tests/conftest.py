"""Shared fixtures: one throwaway PostgreSQL for the session, the app, and tenants.

Each test that writes gets its own restaurant (the ``tenant`` factory), so tests never see
each other's rows and need no rollback.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from litestar import Litestar

from server.db.cluster import PostgresCluster
from server.settings import Settings, get_settings
from tests.factories import Tenant, make_tenant
from tests.optional import require


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("browser") is not None:
        require("chromium")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    with PostgresCluster.throwaway() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def settings(postgres: PostgresCluster) -> Iterator[Settings]:
    """Process settings pointing at the throwaway cluster; set before the app reads them."""
    data_dir = tempfile.mkdtemp(prefix="fynlo-test-")
    os.environ.update(
        FYNLO_ENVIRONMENT="test",
        FYNLO_DATABASE_URL=postgres.dsn,
        FYNLO_DATA_DIR=data_dir,
        FYNLO_LOG_LEVEL="WARNING",
    )
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@pytest_asyncio.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[Litestar]:
    """The app on a migrated database, its pool opened on the tests' own event loop."""
    from server.app import create_app
    from server.db import engine
    from server.db.migrate import migrate

    engine.configure(settings.database_url or "")
    await engine.open_pool(min_size=1, max_size=10)
    await migrate()
    try:
        yield create_app(settings)
    finally:
        await engine.close_pool()


@pytest_asyncio.fixture(scope="session")
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client calling the app in-process (the pool is the ``app`` fixture's)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        yield http


@pytest_asyncio.fixture
async def tenant(app: Litestar) -> Tenant:
    """A fresh restaurant with one location and an owner signed in."""
    return await make_tenant(app)


@pytest_asyncio.fixture
async def other_tenant(app: Litestar) -> Tenant:
    """A second restaurant, for checking that one never sees the other."""
    return await make_tenant(app)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
