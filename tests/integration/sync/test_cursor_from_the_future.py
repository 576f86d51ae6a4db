"""A cursor the database could not have issued (restored from backup) means start again."""

from __future__ import annotations

import httpx
from litestar import Litestar

from server.sync.feed import FeedCursor, SnapshotCursor, encode_cursor
from tests.factories import Tenant, make_ipad


async def test_a_cursor_ahead_of_the_server_asks_for_a_resync(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await make_ipad(app, tenant)
    for cursor in (FeedCursor(xid=10**15, seq=1), SnapshotCursor(watermark=10**15)):
        params = {"schema_version": 1, "app_version": "1.0", "cursor": encode_cursor(cursor)}
        response = await client.get("/api/v1/sync/pull", params=params, headers=ipad.headers)
        assert response.status_code == 410, response.text
        assert response.json()["code"] == "resync_required"
    # Starting again works.
    params = {"schema_version": 1, "app_version": "1.0"}
    assert (
        await client.get("/api/v1/sync/pull", params=params, headers=ipad.headers)
    ).status_code == 200
