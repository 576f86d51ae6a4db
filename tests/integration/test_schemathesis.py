"""Fuzz every operation of the OpenAPI document with Schemathesis (reliability notes, G1).

The document under test is the one the code generates (``test_openapi`` keeps the served and
committed copies equal to it). The server runs as ``fynlo serve`` in its own process on the
session's database, signed in as a fresh restaurant's owner: the app's connection pool is
one per process and bound to the tests' event loop, which cannot serve requests while
Schemathesis' synchronous client waits for them. The schema is loaded at import rather than
through ``schemathesis.pytest.from_fixture``, which fails under pytest 9 (4.32 reads the
removed ``Function._nodeid``), so the base URL and token are given per call instead.

Every run sends the same requests: generation is derandomized from a fixed seed (each
operation's own seed is derived from it and the operation's name), so a run cannot pass or
fail by chance, and a failure reproduces by running the test again. Change ``SEED`` to explore
other inputs on purpose.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
import pytest_asyncio
import schemathesis
from hypothesis import HealthCheck, settings
from litestar import Litestar

from server.openapi_export import openapi_document
from server.settings import Settings
from tests.e2e.processes import FYNLO, free_port, fynlo_env, stop, wait_for
from tests.factories import make_tenant

MAX_EXAMPLES = 25
SEED = 20261126

schema = schemathesis.openapi.from_dict(
    openapi_document(),
    config=schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "checks": {
                "enabled": True,
                # Off: "schema-valid" is not "valid" here, by design. A body may name rows that
                # must exist in the restaurant (`no such location`), a cursor must be one the
                # server issued, a zone must be an IANA name, dates must fall in 1970..9999, and
                # strict bodies refuse `95816.0` for an integer (JSON Schema calls it one).
                "positive_data_acceptance": {"enabled": False},
            },
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "database": "none",
                "deterministic": True,  # Hypothesis' derandomize; the seed above takes precedence
            },
            "phases": {"stateful": {"enabled": False}},  # the document declares no links
        }
    ),
)


@schema.auth(refresh_interval=None)  # no caching: cases are built before the token exists
class OwnerToken:
    """Signs requests in as the fuzzed restaurant's owner (``fuzzed_server`` sets the token)."""

    token: str | None = None

    def get(self, case: schemathesis.Case, context: schemathesis.AuthContext) -> str | None:
        return OwnerToken.token

    def set(self, case: schemathesis.Case, data: str, context: schemathesis.AuthContext) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.fixture(scope="module")
def live_server(
    app: Litestar, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """``fynlo serve`` on a free port, on the migrated test database and the tests' keys."""
    port = free_port()
    env = fynlo_env(
        FYNLO_DATABASE_URL=settings.database_url or "",
        FYNLO_DATA_DIR=str(settings.data_dir),
        FYNLO_PORT=str(port),
        # Every method's provider exists (the fakes), so a 503 would be a real failure.
        FYNLO_PAYMENT_FAKES="true",
        # Its poller must not settle other tests' payments in the shared database.
        FYNLO_PAYMENT_POLL_SECONDS="3600",
    )
    log_path = tmp_path_factory.mktemp("fuzz") / "server.log"
    print(f"fynlo serve logs to {log_path}")  # shown with a failure, to match request ids
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [FYNLO, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT, text=True
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base_url}/ready", process)
        yield base_url
    finally:
        stop(process)


@pytest_asyncio.fixture(scope="module")
async def fuzzed_server(live_server: str, app: Litestar) -> str:
    """The server's base URL, once a fresh restaurant exists to be signed in as."""
    OwnerToken.token = (await make_tenant(app)).token
    return live_server


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_every_operation_answers_as_documented(case: schemathesis.Case, fuzzed_server: str) -> None:
    case.call_and_validate(base_url=fuzzed_server)
