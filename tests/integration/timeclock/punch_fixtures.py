"""Punching as iPads do and reading shifts as a manager does: the time clock tests' helpers.

Punches are pushed through the real sync route, signed by the employee's PIN key for that
iPad (``offline_sign_in``), so they meet every rule a real iPad's do. Roles, wage rates,
schedules and the clock rules are written with SQL: their routes are another part's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import httpx
from litestar import Litestar

from server.auth.offline import SignedIn
from server.auth.tables import Role, User
from server.auth.tokens import Caller, issue_access_token
from server.db.engine import DB
from server.settings import get_settings
from tests.factories import Ipad, Tenant, make_ipad, offline_sign_in
from tests.integration.sync.test_push_rules import WALL_MS, change, push

ZONE = "Europe/London"
"""The default time zone of a test location."""


def a_past_day(days_ago: int = 3) -> date:
    """A business day that is over, so no shift of it is still open."""
    return datetime.now(ZoneInfo(ZONE)).date() - timedelta(days=days_ago)


def local(day: date, clock: str, zone: str = ZONE) -> datetime:
    """``day`` at ``clock`` (HH:MM) in the location's time zone."""
    return datetime.combine(day, time.fromisoformat(clock), tzinfo=ZoneInfo(zone))


def wire_time(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Till:
    """An enrolled iPad of the location, someone signed in on it, counting its changes."""

    ipad: Ipad
    seq: int = 0

    @property
    def device_id(self) -> UUID:
        return self.ipad.device_id

    def punch(
        self,
        kind: str,
        at: datetime,
        *,
        employee_id: UUID | None = None,
        punch_id: UUID | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """The change a punch is, as made on this iPad (its next sequence number)."""
        employee = employee_id or (self.ipad.signed_in and self.ipad.signed_in.employee_id)
        body = {
            "employee_id": str(employee),
            "kind": kind,
            "at": wire_time(at),
            "device_id": str(self.device_id),
            **fields,
        }
        return self.change("time_punch", punch_id or uuid4(), body)

    def change(self, entity_type: str, entity_id: UUID, fields: dict[str, Any]) -> dict[str, Any]:
        self.seq += 1
        return change(self.ipad, self.seq, entity_type, entity_id, fields)

    def again(self, made: dict[str, Any], **fields: Any) -> dict[str, Any]:
        """The same punch (its id) sent again later as a new change of this iPad."""
        self.seq += 1
        wire = {key: value for key, value in made.items() if key != "actor"}
        return wire | {
            "seq": self.seq,
            "fields": made["fields"] | fields,
            "hlc": f"{WALL_MS + self.seq:013d}:00000:{self.device_id}",
        }

    def sign_in(self, who: SignedIn | None) -> Till:
        self.ipad.signed_in = who
        return self


async def till(app: Litestar, tenant: Tenant, name: str, employee_id: UUID | None) -> Till:
    """An iPad of the tenant's location with ``employee_id`` signed in offline (or nobody)."""
    ipad = await make_ipad(app, tenant, name=name)
    if employee_id is not None:
        ipad.signed_in = await offline_sign_in(ipad, employee_id)
    return Till(ipad)


async def send(
    client: httpx.AsyncClient,
    on: Till,
    changes: list[dict[str, Any]],
    batch_id: UUID | None = None,
) -> list[tuple[str, str | None]]:
    """Push ``changes`` from ``on`` and answer each change's (outcome, reason)."""
    response = await push(client, on.ipad, changes, batch_id)
    assert response.status_code == 200, response.text
    return [(r["outcome"], r["reason"]) for r in response.json()["results"]]


# --- the back office's side -----------------------------------------------------------------


async def manager_headers(app: Litestar, tenant: Tenant) -> dict[str, str]:
    """A back-office manager of the tenant's restaurant (not the owner)."""
    user_id = uuid4()
    await User.insert(
        User(
            id=user_id,
            restaurant_id=tenant.restaurant_id,
            email=f"{user_id.hex}@test.fynlo.app",
            name="Morgan Manager",
            password_hash="unused",
            role=Role.manager,
        )
    )
    caller = Caller(user_id=user_id, restaurant_id=tenant.restaurant_id, role=Role.manager)
    token = issue_access_token(
        app.state.signing_keys, caller, issuer=get_settings().jwt_issuer, ttl=900
    )
    return {"Authorization": f"Bearer {token}"}


async def shifts(
    client: httpx.AsyncClient, headers: dict[str, str], start: date, end: date, **params: Any
) -> dict[str, Any]:
    response = await client.get(
        "/api/v1/time-clock/shifts",
        params={"start": start.isoformat(), "end": end.isoformat(), **params},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def timesheets(
    client: httpx.AsyncClient, headers: dict[str, str], start: date, end: date, **params: Any
) -> dict[str, Any]:
    response = await client.get(
        "/api/v1/time-clock/timesheets",
        params={"start": start.isoformat(), "end": end.isoformat(), **params},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def correct(
    client: httpx.AsyncClient, headers: dict[str, str], **body: Any
) -> httpx.Response:
    body = {key: wire_time(v) if isinstance(v, datetime) else v for key, v in body.items()}
    body = {key: str(v) if isinstance(v, UUID) else v for key, v in body.items()}
    return await client.post("/api/v1/time-clock/corrections", json=body, headers=headers)


# --- rows the management routes would write -------------------------------------------------


async def sql(query: str, *args: Any) -> Any:
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        return await conn.fetchval(query, *args)


async def job_role(tenant: Tenant, name: str) -> UUID:
    role_id = uuid4()
    await sql(
        "INSERT INTO job_roles (id, restaurant_id, name) VALUES ($1, $2, $3)",
        role_id,
        tenant.restaurant_id,
        name,
    )
    return role_id


async def wage_rate(
    tenant: Tenant, employee_id: UUID, role_id: UUID, hourly_rate: int, effective_from: date
) -> None:
    await sql(
        "INSERT INTO wage_rates (id, restaurant_id, employee_id, job_role_id, hourly_rate,"
        " currency, effective_from) VALUES ($1, $2, $3, $4, $5, 'GBP', $6)",
        uuid4(),
        tenant.restaurant_id,
        employee_id,
        role_id,
        hourly_rate,
        effective_from,
    )


async def clock_rules(tenant: Tenant, **rules: Any) -> None:
    columns = ", ".join(rules)
    values = ", ".join(f"${n}" for n in range(2, len(rules) + 2))
    await sql(
        f"INSERT INTO time_clock_settings (restaurant_id, {columns}) VALUES ($1, {values})",
        tenant.restaurant_id,
        *rules.values(),
    )


async def planned_shift(
    tenant: Tenant, employee_id: UUID, starts_at: datetime, ends_at: datetime
) -> None:
    await sql(
        "INSERT INTO scheduled_shifts (id, restaurant_id, location_id, employee_id, starts_at,"
        " ends_at) VALUES ($1, $2, $3, $4, $5, $6)",
        uuid4(),
        tenant.restaurant_id,
        tenant.location_id,
        employee_id,
        starts_at,
        ends_at,
    )
