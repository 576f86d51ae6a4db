"""Managers act on sync problems (issue 16, part 2).

A quarantined change is dismissed with a reason (its device hears of it in its pull, once)
or retried after a fix (through the engine, as its device: applied, it reaches every iPad;
refused again, it stays quarantined with the new reason); a conflict is acknowledged. Each
action is audited and idempotent, refused to staff, and another restaurant's ids answer
like missing ones. The lists filter by device, entity type, time and state.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID, uuid4

import httpx
from litestar import Litestar

from server.auth.tables import Role
from tests.factories import Ipad, Tenant, make_employee, make_ipad, make_tenant, sign_in
from tests.integration.sync.test_authority import as_, open_order, results
from tests.integration.sync.test_push_rules import (
    change,
    device,
    line_fields,
    order_fields,
    prefix_of,
    pull_page,
    push,
)
from tests.problems import assert_problem

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
SYNC = "/api/v1/sync"
BAD_DISCOUNT = {"discount_kind": "fixed", "discount_value": -1}


# --- making problems -------------------------------------------------------------------------


async def quarantined_discount(
    client: httpx.AsyncClient, ipad: Ipad, *, seq: int = 1, target: str = "order"
) -> dict[str, Any]:
    """An order opened on ``ipad`` at ``seq`` and a bad discount on it (or its line) after
    it: the discount is quarantined. Answers its quarantine entry."""
    order_id, line_id, prefix = uuid4(), uuid4(), await prefix_of(ipad)
    opened = [change(ipad, seq, "order", order_id, order_fields(prefix, seq))]
    if target == "order_line":
        opened.append(change(ipad, seq + 1, "order_line", line_id, line_fields(order_id)))
    assert (await push(client, ipad, opened)).status_code == 200
    entity_id = line_id if target == "order_line" else order_id
    bad = change(ipad, seq + len(opened), target, entity_id, BAD_DISCOUNT, clock=2)
    assert results(await push(client, ipad, [bad])) == [("rejected", "invalid_fields")]
    return await entry_of(client, ipad.tenant, ipad.device_id, bad["seq"])


async def entry_of(
    client: httpx.AsyncClient, tenant: Tenant, device_id: UUID, seq: int
) -> dict[str, Any]:
    listed = await listing(client, tenant, "quarantine", device_id=str(device_id))
    [entry] = [item for item in listed if item["seq"] == seq]
    return entry


async def logged_conflict(app: Litestar, client: httpx.AsyncClient, tenant: Tenant) -> UUID:
    """Two iPads edit an order's notes at once; the second is merged and logged. Answers the
    second iPad's id."""
    till_ipad = await make_ipad(app, tenant, signed_in=Role.manager)
    bar_ipad = await make_ipad(app, tenant, signed_in=Role.manager, name="Bar")
    till, bar = await device(client, till_ipad), await device(client, bar_ipad)
    order_id = till.open_order()
    assert await till.sync() and await bar.sync()
    till.edit("order", order_id, {"notes": "window seat"})
    bar.edit("order", order_id, {"notes": "birthday"})
    assert await till.push() and await bar.push()
    return bar_ipad.device_id


async def listing(
    client: httpx.AsyncClient, tenant: Tenant, what: str, **params: Any
) -> list[dict[str, Any]]:
    response = await client.get(f"{SYNC}/{what}", params=params, headers=tenant.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def act(
    client: httpx.AsyncClient, headers: dict[str, str], path: str, body: Any = None
) -> httpx.Response:
    return await client.post(f"{SYNC}/{path}", json=body, headers=headers)


async def audited(client: httpx.AsyncClient, tenant: Tenant) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/audit", headers=tenant.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def instants(entry: dict[str, Any], *names: str) -> None:
    for name in names:
        assert RFC3339.match(entry[name]), (name, entry[name])


# --- dismiss ---------------------------------------------------------------------------------


async def test_a_dismissed_change_is_audited_and_its_device_hears_of_it_once(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await make_ipad(app, tenant)
    other = await make_ipad(app, tenant, name="Bar")
    entry = await quarantined_discount(client, ipad)
    assert entry["state"] == "open" and entry["settled_at"] is None
    first = await pull_page(client, ipad)
    assert first.json()["dismissed"] == []
    others = await pull_page(client, other)

    reason = "Discount entered by mistake; the bill was right"
    dismissed = await act(client, tenant.headers, f"quarantine/{entry['id']}/dismiss",
                          {"reason": reason})  # fmt: skip
    assert dismissed.status_code == 200, dismissed.text
    body = dismissed.json()
    assert body["state"] == "dismissed" and body["dismissal_reason"] == reason
    assert body["settled_by"] == str(tenant.user_id)
    instants(body, "at", "settled_at")
    again = await act(client, tenant.headers, f"quarantine/{entry['id']}/dismiss",
                      {"reason": "another reason"})  # fmt: skip
    assert again.status_code == 200 and again.json() == body, "a repeat answers the same"

    entries = [
        item
        for item in await audited(client, tenant)
        if (item["target_type"], item["target_id"]) == ("quarantine", str(entry["id"]))
    ]
    assert entries and {item["action"] for item in entries} == {"dismiss_quarantined"}
    assert entries[0]["actor_id"] == str(tenant.user_id)

    notice = await pull_page(client, ipad, first.json()["cursor"])
    assert notice.status_code == 200, notice.text
    [told] = notice.json()["dismissed"]
    assert (told["seq"], told["reason"]) == (entry["seq"], reason)
    instants(told, "at")
    later = await pull_page(client, ipad, notice.json()["cursor"])
    assert later.json()["dismissed"] == [], "told once"
    resent = await pull_page(client, ipad, first.json()["cursor"])
    assert [d["seq"] for d in resent.json()["dismissed"]] == [entry["seq"]], (
        "a page lost on the way is told again"
    )
    not_theirs = await pull_page(client, other, others.json()["cursor"])
    assert not_theirs.json()["dismissed"] == [], "only the device that made it"

    retried = await act(client, tenant.headers, f"quarantine/{entry['id']}/retry")
    assert_problem(retried, 409, "sync.quarantine_settled")


async def test_a_dismissal_needs_a_reason(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    entry = await quarantined_discount(client, await make_ipad(app, tenant))
    for body in ({}, {"reason": ""}):
        refused = await act(client, tenant.headers, f"quarantine/{entry['id']}/dismiss", body)
        assert_problem(refused, 400, "validation_failed")
    assert (await entry_of(client, tenant, UUID(entry["device_id"]), entry["seq"]))[
        "state"
    ] == "open"


# --- retry -----------------------------------------------------------------------------------


async def unpaid_bill(client: httpx.AsyncClient, ipad: Ipad) -> tuple[UUID, dict[str, Any]]:
    """A 320p order marked paid with 200p in cash: the ``paid`` is quarantined."""
    await as_(ipad, Role.cashier)
    order_id = await open_order(client, ipad, seq=1, status="sent")
    await as_(ipad, Role.cashier)
    paying = [
        change(ipad, 3, "cash_payment", uuid4(), cash(order_id, 200)),
        change(ipad, 4, "order", order_id, {"status": "paid"}, clock=2),
    ]
    assert results(await push(client, ipad, paying)) == [
        ("applied", None),
        ("rejected", "order_unpaid"),
    ]
    return order_id, await entry_of(client, ipad.tenant, ipad.device_id, 4)


def cash(order_id: UUID, amount: int) -> dict[str, Any]:
    return {
        "order_id": str(order_id),
        "amount": amount,
        "tendered": amount,
        "currency": "GBP",
        "taken_at": "2026-11-26T12:30:00Z",
    }


async def test_a_retry_still_refused_stays_quarantined_with_the_new_reason(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await make_ipad(app, tenant)
    _, entry = await unpaid_bill(client, ipad)

    retried = await act(client, tenant.headers, f"quarantine/{entry['id']}/retry")

    assert retried.status_code == 200, retried.text
    answer = retried.json()
    assert answer["outcome"] == "rejected"
    kept = answer["quarantined"]
    assert (kept["state"], kept["reason"], kept["retries"]) == ("open", "order_unpaid", 1)
    assert kept["retry_outcome"] == "rejected" and kept["retried_by"] == str(tenant.user_id)
    assert kept["settled_at"] is None
    instants(kept, "at", "retried_at")
    listed = await listing(client, tenant, "quarantine", device_id=str(ipad.device_id))
    assert [item["id"] for item in listed] == [entry["id"]], "one row, not a second"


async def test_a_revoked_ipads_change_is_never_retried_only_dismissed(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await make_ipad(app, tenant)
    _, entry = await unpaid_bill(client, ipad)
    revoked = await client.post(f"/api/v1/devices/{ipad.device_id}/revoke", headers=tenant.headers)
    assert revoked.status_code == 200, revoked.text
    retried = await act(client, tenant.headers, f"quarantine/{entry['id']}/retry")
    assert_problem(retried, 409, "sync.device_revoked")
    dismissed = await act(
        client, tenant.headers, f"quarantine/{entry['id']}/dismiss", {"reason": "stolen iPad"}
    )
    assert dismissed.status_code == 200, dismissed.text


async def test_a_retry_after_a_fix_applies_and_reaches_every_ipad(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await make_ipad(app, tenant)
    bar = await device(client, await make_ipad(app, tenant, name="Bar"))
    order_id, entry = await unpaid_bill(client, ipad)
    assert await bar.pull()
    assert bar.get("order", order_id).data["status"] == "sent"  # type: ignore[union-attr]
    # The fix: the rest of the bill is paid.
    rest = change(ipad, 5, "cash_payment", uuid4(), cash(order_id, 120))
    assert results(await push(client, ipad, [rest])) == [("applied", None)]

    retried = await act(client, tenant.headers, f"quarantine/{entry['id']}/retry")

    assert retried.status_code == 200, retried.text
    answer = retried.json()
    assert answer["outcome"] in {"applied", "merged"}, answer
    settled = answer["quarantined"]
    assert settled["state"] == "applied" and settled["settled_by"] == str(tenant.user_id)
    instants(settled, "settled_at", "retried_at")
    assert await bar.pull()
    assert bar.get("order", order_id).data["status"] == "paid"  # type: ignore[union-attr]
    order = await client.get(f"/api/v1/orders/{order_id}", headers=tenant.headers)
    assert order.json()["status"] == "paid"
    again = await act(client, tenant.headers, f"quarantine/{entry['id']}/retry")
    assert again.status_code == 200 and again.json() == answer, "a repeat answers the same"
    dismissed = await act(client, tenant.headers, f"quarantine/{entry['id']}/dismiss",
                          {"reason": "too late"})  # fmt: skip
    assert_problem(dismissed, 409, "sync.quarantine_settled")
    actions = {
        item["action"]
        for item in await audited(client, tenant)
        if item["target_id"] == str(entry["id"]) and item["target_type"] == "quarantine"
    }
    assert actions == {"retry_quarantined"}


# --- conflicts -------------------------------------------------------------------------------


async def test_a_conflict_is_acknowledged_once_and_audited(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await logged_conflict(app, client, tenant)
    [entry] = await listing(client, tenant, "conflicts")
    assert entry["state"] == "new" and entry["acknowledged_at"] is None
    instants(entry, "at")

    acknowledged = await act(client, tenant.headers, f"conflicts/{entry['id']}/acknowledge")

    assert acknowledged.status_code == 200, acknowledged.text
    body = acknowledged.json()
    assert body["state"] == "acknowledged" and body["acknowledged_by"] == str(tenant.user_id)
    instants(body, "at", "acknowledged_at")
    again = await act(client, tenant.headers, f"conflicts/{entry['id']}/acknowledge")
    assert again.json() == body
    one = await client.get(f"{SYNC}/conflicts/{entry['id']}", headers=tenant.headers)
    assert one.json() == body
    assert any(
        (item["action"], item["target_type"], item["target_id"])
        == ("acknowledge_conflict", "conflict", str(entry["id"]))
        for item in await audited(client, tenant)
    )


# --- filters ---------------------------------------------------------------------------------


async def test_the_quarantine_filters_by_device_entity_type_time_and_state(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    till = await make_ipad(app, tenant, signed_in=Role.manager)  # open items need one
    bar = await make_ipad(app, tenant, name="Bar")
    first = await quarantined_discount(client, till, seq=1)
    line = await quarantined_discount(client, till, seq=3, target="order_line")
    barred = await quarantined_discount(client, bar, seq=1)
    dismissed = await act(client, tenant.headers, f"quarantine/{barred['id']}/dismiss",
                          {"reason": "duplicate"})  # fmt: skip
    assert dismissed.status_code == 200

    async def ids(**params: Any) -> list[int]:
        return [item["id"] for item in await listing(client, tenant, "quarantine", **params)]

    assert await ids() == [barred["id"], line["id"], first["id"]]
    assert await ids(device_id=str(till.device_id)) == [line["id"], first["id"]]
    assert await ids(device_id=str(uuid4())) == []
    assert await ids(entity_type="order_line") == [line["id"]]
    assert await ids(entity_type="order") == [barred["id"], first["id"]]
    assert await ids(state="dismissed") == [barred["id"]]
    assert await ids(state="open") == [line["id"], first["id"]]
    assert await ids(state="applied") == []
    assert await ids(since=line["at"]) == [barred["id"], line["id"]]
    assert await ids(until=line["at"]) == [first["id"]]
    assert await ids(since=first["at"], until=barred["at"]) == [line["id"], first["id"]]
    assert await ids(device_id=str(till.device_id), state="open", limit=1) == [line["id"]]


async def test_the_conflict_log_filters_by_device_entity_type_time_and_state(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    bar_id = await logged_conflict(app, client, tenant)
    second_bar = await logged_conflict(app, client, tenant)
    newer, older = await listing(client, tenant, "conflicts")
    assert (older["device_id"], newer["device_id"]) == (str(bar_id), str(second_bar))
    assert (await act(client, tenant.headers, f"conflicts/{older['id']}/acknowledge")).is_success

    async def ids(**params: Any) -> list[int]:
        return [item["id"] for item in await listing(client, tenant, "conflicts", **params)]

    assert await ids(device_id=str(bar_id)) == [older["id"]]
    assert await ids(entity_type="order") == [newer["id"], older["id"]]
    assert await ids(entity_type="order_line") == []
    assert await ids(state="new") == [newer["id"]]
    assert await ids(state="acknowledged") == [older["id"]]
    assert await ids(since=newer["at"]) == [newer["id"]]
    assert await ids(until=newer["at"]) == [older["id"]]


async def test_filters_refuse_what_they_cannot_read(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    for what, params, field in [
        ("quarantine", {"since": "2026-12-08T10:00:00"}, "since"),  # no offset
        ("conflicts", {"until": "yesterday"}, "until"),
        ("quarantine", {"state": "new"}, "state"),
        ("conflicts", {"state": "dismissed"}, "state"),
        ("conflicts", {"device_id": "till-1"}, "device_id"),
        ("quarantine", {"entity_type": "Order!"}, "entity_type"),
    ]:
        response = await client.get(f"{SYNC}/{what}", params=params, headers=tenant.headers)
        assert_problem(response, 400, "validation_failed", field)


# --- who may --------------------------------------------------------------------------------


async def test_staff_on_an_ipad_may_neither_read_nor_act(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await make_ipad(app, tenant)
    entry = await quarantined_discount(client, ipad)
    await logged_conflict(app, client, tenant)
    [conflict] = await listing(client, tenant, "conflicts")
    cashier = await sign_in(app, ipad, await make_employee(tenant, role=Role.cashier))
    for headers in (cashier.headers, ipad.headers):
        for method, path, body in [
            ("GET", "quarantine", None),
            ("GET", f"quarantine/{entry['id']}", None),
            ("POST", f"quarantine/{entry['id']}/dismiss", {"reason": "mine"}),
            ("POST", f"quarantine/{entry['id']}/retry", None),
            ("GET", "conflicts", None),
            ("POST", f"conflicts/{conflict['id']}/acknowledge", None),
        ]:
            response = await client.request(method, f"{SYNC}/{path}", json=body, headers=headers)
            assert_problem(response, 403, "forbidden")
    assert (await entry_of(client, tenant, ipad.device_id, entry["seq"]))["state"] == "open"


async def test_another_restaurants_ids_answer_like_missing_ones(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    entry = await quarantined_discount(client, await make_ipad(app, tenant))
    await logged_conflict(app, client, tenant)
    [conflict] = await listing(client, tenant, "conflicts")
    other = await make_tenant(app)
    missing = 2**62
    for method, path, body in [
        ("GET", "quarantine/{}", None),
        ("POST", "quarantine/{}/dismiss", {"reason": "not ours"}),
        ("POST", "quarantine/{}/retry", None),
        ("GET", "conflicts/{}", None),
        ("POST", "conflicts/{}/acknowledge", None),
    ]:
        theirs_id = conflict["id"] if path.startswith("conflicts") else entry["id"]
        answers = []
        for row_id in (theirs_id, missing, 2**70):
            response = await client.request(
                method, f"{SYNC}/{path.format(row_id)}", json=body, headers=other.headers
            )
            problem = assert_problem(response, 404, "not_found")
            answers.append(
                {k: v for k, v in problem.items() if k not in ("request_id", "instance")}
            )
        assert answers[0] == answers[1] == answers[2], path
    assert await listing(client, other, "quarantine") == []
    assert await listing(client, other, "conflicts") == []
    assert (await entry_of(client, tenant, UUID(entry["device_id"]), entry["seq"]))[
        "state"
    ] == "open"
    [unchanged] = await listing(client, tenant, "conflicts")
    assert unchanged == conflict
