"""An iPad that must enrol again keeps its identity, its prefix and its queued work.

Issue 12, finding 10: a locked-out iPad used to come back as a new device with a new
prefix, and the orders it had queued offline were refused ``wrong_prefix``. Enrolling again
with a manager's fresh code, its device id and its device secret now gives it back the same
device. A device a manager revoked comes back only with a code made for that very device.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import httpx
from litestar import Litestar

from server.devices.tables import Device
from tests.factories import Ipad, Tenant, make_tenant

WALL_MS = 1_795_700_000_000


async def _code(
    client: httpx.AsyncClient, tenant: Tenant, device_id: UUID | str | None = None
) -> str:
    """A manager's code: for a new iPad at the location, or made for one enrolled iPad."""
    if device_id is None:
        path, body = "/api/v1/devices/enrolment-codes", {"location_id": str(tenant.location_id)}
    else:
        path, body = f"/api/v1/devices/{device_id}/enrolment-codes", None
    response = await client.post(path, json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    assert response.json()["device_id"] == (None if device_id is None else str(device_id))
    assert response.json()["location_id"] == str(tenant.location_id)
    code: str = response.json()["code"]
    return code


async def _enrol(client: httpx.AsyncClient, code: str, **body: Any) -> httpx.Response:
    return await client.post("/api/v1/devices/enroll", json={"code": code, **body})


class Till:
    """What an iPad keeps: its identity and secret, its tokens, and its outbox counter."""

    def __init__(self, tenant: Tenant, enrolled: dict[str, Any]) -> None:
        self.tenant = tenant
        self.device: dict[str, Any] = enrolled["device"]
        self.secret: str = enrolled["device_secret"]
        self.ipad = Ipad(
            tenant,
            UUID(self.device["id"]),
            enrolled["access_token"],
            enrolled["refresh_token"],
        )

    @property
    def proof(self) -> dict[str, str]:
        return {"device_id": self.device["id"], "device_secret": self.secret}

    def took_back(self, enrolled: dict[str, Any]) -> None:
        """Enrolled again: new tokens and secret, the same device."""
        assert enrolled["device"]["id"] == self.device["id"]
        self.device = enrolled["device"]
        self.secret = enrolled["device_secret"]
        self.ipad.access_token = enrolled["access_token"]
        self.ipad.refresh_token = enrolled["refresh_token"]


async def _enrolled(client: httpx.AsyncClient, tenant: Tenant) -> Till:
    response = await _enrol(client, await _code(client, tenant), name="Bar iPad")
    assert response.status_code == 201, response.text
    assert len(response.json()["device_secret"]) >= 43  # 256 bits, base64url
    return Till(tenant, response.json())


def _order(till: Till, seq: int) -> dict[str, Any]:
    """The ``seq``-th change in the iPad's outbox: a new order numbered with its prefix."""
    actor, prefix = till.device["id"], till.device["prefix"]
    return {
        "seq": seq,
        "entity_type": "order",
        "entity_id": str(uuid4()),
        "op": "upsert",
        "fields": {
            "number": f"{prefix}-{seq:04d}",
            "device_prefix": prefix,
            "device_seq": seq,
            "opened_at": "2026-11-26T12:00:00Z",
            "status": "open",
        },
        "clock": {actor: 1},
        "hlc": f"{WALL_MS + seq:013d}:00000:{actor}",
    }


async def _push(client: httpx.AsyncClient, till: Till, *changes: dict[str, Any]) -> httpx.Response:
    body = {
        "batch_id": str(uuid4()),
        "device_id": till.device["id"],
        "schema_version": 1,
        "app_version": "1.0.0",
        "changes": list(changes),
    }
    return await client.post("/api/v1/sync/push", json=body, headers=till.ipad.headers)


def _applied(response: httpx.Response, last_seq: int) -> None:
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["outcome"] for r in results] == ["applied"] * len(results), results
    assert response.json()["last_applied_seq"] == last_seq


async def _refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/api/v1/auth/refresh", json={"refresh_token": token})


async def _lock_out(client: httpx.AsyncClient, till: Till) -> None:
    """Get the iPad's refresh family revoked (a replay of a spent token), as in the issue."""
    previous = till.ipad.refresh_token
    successor = (await _refresh(client, previous)).json()["refresh_token"]
    newest = (await _refresh(client, successor)).json()["refresh_token"]
    assert (await _refresh(client, previous)).status_code == 401
    assert (await _refresh(client, newest)).status_code == 401
    till.ipad.refresh_token = newest


def _problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return {k: v for k, v in body.items() if k not in {"request_id", "instance"}}


async def test_a_locked_out_ipad_enrols_again_as_itself_and_its_queued_orders_go_through(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    till = await _enrolled(client, tenant)
    _applied(await _push(client, till, _order(till, 1)), last_seq=1)
    await _lock_out(client, till)
    queued = [_order(till, 2), _order(till, 3)]  # taken offline while locked out
    old_secret = till.secret

    response = await _enrol(client, await _code(client, tenant), name="iPad", **till.proof)
    assert response.status_code == 201, response.text
    before = dict(till.device)
    till.took_back(response.json())
    kept = ("id", "location_id", "prefix", "epoch", "name", "enrolled_at")
    assert {k: till.device[k] for k in kept} == {k: before[k] for k in kept}
    assert till.secret != old_secret

    # The orders it queued with its prefix are accepted, its sequence carries on.
    _applied(await _push(client, till, *queued), last_seq=3)
    assert (await _refresh(client, till.ipad.refresh_token)).status_code == 200
    devices = (await client.get("/api/v1/devices", headers=tenant.headers)).json()
    assert [d["id"] for d in devices] == [till.device["id"]]
    audit = (await client.get("/api/v1/audit", headers=tenant.headers)).json()["items"]
    assert [e["target_id"] for e in audit if e["action"] == "devices.enrolled_again"] == [
        till.device["id"]
    ]
    # The secret it replaced proves nothing any more.
    stale = await _enrol(
        client, await _code(client, tenant), device_id=till.device["id"], device_secret=old_secret
    )
    _problem(stale, 403, "enrolment.device_not_recognised")


async def test_enrolling_again_cuts_off_every_token_the_device_held_before(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    till = await _enrolled(client, tenant)
    copied = till.ipad.refresh_token  # say a thief copied it: it is still valid
    response = await _enrol(client, await _code(client, tenant), **till.proof)
    assert response.status_code == 201, response.text
    till.took_back(response.json())
    assert (await _refresh(client, copied)).status_code == 401
    assert (await _refresh(client, till.ipad.refresh_token)).status_code == 200


async def test_a_revoked_ipad_cannot_come_back_with_its_old_credentials(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    till = await _enrolled(client, tenant)
    _applied(await _push(client, till, _order(till, 1)), last_seq=1)
    revoked = await client.post(
        f"/api/v1/devices/{till.device['id']}/revoke", headers=tenant.headers
    )
    assert revoked.status_code == 200, revoked.text
    assert (await _refresh(client, till.ipad.refresh_token)).status_code == 401

    # Its tokens, device id and secret, even with an ordinary fresh code, are not enough.
    code = await _code(client, tenant)
    _problem(await _enrol(client, code, **till.proof), 403, "enrolment.device_revoked")
    assert (await _refresh(client, till.ipad.refresh_token)).status_code == 401
    row = await Device.select(Device.revoked_at).where(Device.id == UUID(till.device["id"]))
    assert row[0]["revoked_at"] is not None

    # The refusal did not spend the code: it still enrols an iPad as a new device.
    fresh = await _enrol(client, code)
    assert fresh.status_code == 201, fresh.text
    assert fresh.json()["device"]["id"] != till.device["id"]
    assert fresh.json()["device"]["prefix"] != till.device["prefix"]


async def test_a_code_made_for_a_revoked_ipad_brings_it_back_with_its_queued_orders(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    till = await _enrolled(client, tenant)
    _applied(await _push(client, till, _order(till, 1)), last_seq=1)
    queued = _order(till, 2)
    await client.post(f"/api/v1/devices/{till.device['id']}/revoke", headers=tenant.headers)

    code = await _code(client, tenant, device_id=till.device["id"])
    # Even that code needs the device's own secret: it restores the install with the outbox.
    wrong = await _enrol(client, code, device_id=till.device["id"], device_secret="x" * 43)
    _problem(wrong, 403, "enrolment.device_not_recognised")

    response = await _enrol(client, code, **till.proof)
    assert response.status_code == 201, response.text
    till.took_back(response.json())
    assert till.device["revoked_at"] is None
    _applied(await _push(client, till, queued), last_seq=2)


async def test_a_code_made_for_one_ipad_enrols_no_other(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    till, other = await _enrolled(client, tenant), await _enrolled(client, tenant)
    code = await _code(client, tenant, device_id=till.device["id"])
    _problem(await _enrol(client, code), 403, "enrolment.device_not_recognised")
    _problem(await _enrol(client, code, **other.proof), 403, "enrolment.device_not_recognised")
    response = await _enrol(client, code, **till.proof)
    assert response.status_code == 201, response.text
    assert (await _enrol(client, code, **till.proof)).status_code == 401  # spent


async def test_a_wrong_secret_and_an_unknown_or_foreign_device_answer_alike(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    till = await _enrolled(client, tenant)
    foreign_tenant = await make_tenant(app)
    foreign = await _enrolled(client, foreign_tenant)
    attempts = [
        {"device_id": till.device["id"], "device_secret": foreign.secret},
        {"device_id": str(uuid4()), "device_secret": till.secret},
        foreign.proof,  # another restaurant's iPad, with its own secret
    ]
    code = await _code(client, tenant)
    bodies = [
        _problem(await _enrol(client, code, **proof), 403, "enrolment.device_not_recognised")
        for proof in attempts
    ]
    assert bodies[0] == bodies[1] == bodies[2]
    # None of it spent the code.
    assert (await _enrol(client, code, **till.proof)).status_code == 201


async def test_a_device_id_needs_its_secret_and_the_other_way_round(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    till = await _enrolled(client, tenant)
    code = await _code(client, tenant)
    alone = await _enrol(client, code, device_id=till.device["id"])
    assert _problem(alone, 400, "validation_failed") and alone.json()["field"] == "device_secret"
    alone = await _enrol(client, code, device_secret=till.secret)
    assert _problem(alone, 400, "validation_failed") and alone.json()["field"] == "device_id"


async def test_a_code_cannot_be_made_for_another_restaurants_device(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    foreign = await _enrolled(client, await make_tenant(app))
    theirs = await client.post(
        f"/api/v1/devices/{foreign.device['id']}/enrolment-codes", headers=tenant.headers
    )
    missing = await client.post(
        f"/api/v1/devices/{uuid4()}/enrolment-codes", headers=tenant.headers
    )
    assert _problem(theirs, 404, "not_found") == _problem(missing, 404, "not_found")
