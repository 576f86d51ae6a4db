"""Every error path answers RFC 9457 problem+json with a stable code."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from uuid import uuid4

import httpx
import msgspec
import pytest
import pytest_asyncio
from litestar import Litestar, get

from server.app import create_app
from server.db.engine import connection
from server.errors import RETRY_AFTER_SECONDS
from server.settings import Settings
from tests.factories import Tenant
from tests.problems import assert_problem


async def test_unknown_route_is_404(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/api/v1/nothing-here"), 404, "route_not_found")
    assert body["instance"] == "/api/v1/nothing-here"


async def test_wrong_method_is_405_with_allow(client: httpx.AsyncClient) -> None:
    response = await client.delete("/health")
    assert_problem(response, 405, "method_not_allowed")
    assert "GET" in response.headers["allow"]


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/auth/login", content=b"{not json")
    assert_problem(response, 400, "validation_failed")


async def test_wrong_type_names_the_field(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/auth/login", json={"email": 5, "password": "x"})
    body = assert_problem(response, 400, "validation_failed")
    assert body["field"] == "email"
    assert "str" in str(body["detail"])


async def test_query_parameter_error_names_the_parameter(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    headers = tenant.headers
    response = await client.get("/api/v1/orders?opened_from=yesterday", headers=headers)
    body = assert_problem(response, 400, "validation_failed")
    assert "opened_from" in str(body["field"])


async def test_missing_token_is_401(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/v1/products"), 401, "not_authenticated")


async def test_client_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/health", headers={"X-Request-ID": "ipad-7-req-00042"})
    assert response.headers["x-request-id"] == "ipad-7-req-00042"
    # An id we would not want in our logs is replaced, not echoed.
    response = await client.get("/health", headers={"X-Request-ID": "bad id <script>"})
    assert response.headers["x-request-id"] != "bad id <script>"


@pytest_asyncio.fixture
async def small_body_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(msgspec.structs.replace(settings, max_body_bytes=64))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        yield http


async def test_body_over_the_limit_is_413(small_body_client: httpx.AsyncClient) -> None:
    big = {"email": "a@b.c", "password": "x" * 200}
    response = await small_body_client.post("/api/v1/auth/login", json=big)
    assert_problem(response, 413, "payload_too_large")


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest_asyncio.fixture
async def exploding_app(settings: Settings) -> Litestar:
    app = create_app(settings)

    @get("/boom", include_in_schema=False, opt={"public": True})
    async def boom() -> None:
        raise RuntimeError("card 4242 secret detail")

    app.register(boom)
    return app


async def test_unexpected_error_is_500_with_correlation_id(exploding_app: Litestar) -> None:
    records = _Records()
    logging.getLogger("fynlo.errors").addHandler(records)
    try:
        transport = httpx.ASGITransport(app=exploding_app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            response = await http.get("/boom")
    finally:
        logging.getLogger("fynlo.errors").removeHandler(records)
    body = assert_problem(response, 500, "internal_error")
    assert "secret" not in response.text
    assert body["request_id"] == response.headers["x-request-id"]
    logged = [r for r in records.records if r.exc_info]
    assert len(logged) == 1
    assert "secret detail" in str(logged[0].exc_info[1])  # type: ignore[index]


async def test_numbers_sent_as_strings_are_refused(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    # Lax decoding would store "4.00" as 4 pence; money must never be guessed.
    body = {"name": "Tea", "price": "4.00"}
    response = await client.post("/api/v1/products", json=body, headers=tenant.headers)
    problem = assert_problem(response, 400, "validation_failed")
    assert problem["field"] == "price"


async def test_nul_characters_are_refused_not_a_500(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(
        "/api/v1/categories", json={"name": "Tea\u0000"}, headers=tenant.headers
    )
    assert_problem(response, 400, "validation_failed")


@pytest.mark.parametrize(
    "opened_from",
    ["2026-11-26T18:00:00", "0001-01-01T00:00:00+14:00", "1900-01-01T00:00:00Z"],
)
async def test_implausible_instants_are_refused(
    client: httpx.AsyncClient, tenant: Tenant, opened_from: str
) -> None:
    response = await client.get(
        "/api/v1/orders", params={"opened_from": opened_from}, headers=tenant.headers
    )
    problem = assert_problem(response, 400, "validation_failed")
    assert problem["field"] == "opened_from"


async def test_a_query_parameter_sent_as_null_is_refused(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.get("/api/v1/tables", params={"limit": "null"}, headers=tenant.headers)
    problem = assert_problem(response, 400, "validation_failed")
    assert problem["field"] == "limit"


async def test_a_database_lost_while_recording_the_audit_entry_is_503_not_500(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """The change commits, then its audit entry cannot be written: PostgreSQL cuts the
    connection (SQLSTATE 57P01, as ``pg_terminate_backend`` does), here for this one row
    only, by a trigger. The answer held for the entry must become a 503, not a 500."""
    category_id = uuid4()
    async with connection() as conn:
        await conn.execute(
            "CREATE FUNCTION test_cut_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            f" IF NEW.target_id = '{category_id}' THEN"
            " RAISE EXCEPTION 'terminating connection' USING ERRCODE = '57P01'; END IF;"
            " RETURN NEW; END $$;"
            " CREATE TRIGGER test_cut_audit BEFORE INSERT ON audit_log"
            " FOR EACH ROW EXECUTE FUNCTION test_cut_audit()"
        )
    try:
        response = await client.post(
            "/api/v1/categories",
            json={"id": str(category_id), "name": "Cut short"},
            headers=tenant.headers,
        )
    finally:
        async with connection() as conn:
            await conn.execute(
                "DROP TRIGGER test_cut_audit ON audit_log; DROP FUNCTION test_cut_audit()"
            )
    body = assert_problem(response, 503, "dependency_unavailable")
    assert body["dependency"] == "database"
    assert response.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
    async with connection() as conn:
        kept = await conn.fetchval("SELECT count(*) FROM categories WHERE id = $1", category_id)
    assert kept == 1  # committed before the audit entry: the retry finds it (409)
