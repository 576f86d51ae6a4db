"""Every field an iPad can push, for every kind of actor, answers as the permission table says.

The route-by-role matrix (``tests/integration/auth/test_route_matrix.py``) gains its sync
dimension here: entity, field and actor. Who may set each field is declared once, beside the
field, in the domain's ``register(..., fields=...)``; what each actor may do comes from
``permissions.POLICY`` through ``decide()``. The expected answer is computed from those two,
never written out, and each cell is a real push. A field without a rule, a pushable type
without a field list, or a rule without a sample here fails the suite.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import httpx
import msgspec
import pytest
from litestar import Litestar

from server.auth.permissions import DEVICE, Actor, Permission, decide
from server.auth.tables import Role
from server.cashup.drawer_sync import CloseFields, MovementFields, OpenFields
from server.catalog.sync import AvailabilityFields
from server.floor.sync import TableStateFields
from server.orders.sync import LineFields, OrderFields
from server.payments.offline_cards import OfflineCardFields
from server.payments.sync import CashPaymentFields
from server.sync import registry
from server.timeclock.sync import PunchFields
from tests.factories import Ipad, Tenant, make_employee, make_ipad, offline_sign_in, staff_member
from tests.integration.sync.test_push_rules import line_fields, order_fields, prefix_of, push

FIELDS_OF: dict[str, type[msgspec.Struct]] = {
    "order": OrderFields,
    "order_line": LineFields,
    "cash_payment": CashPaymentFields,
    "offline_card_payment": OfflineCardFields,
    "availability": AvailabilityFields,
    "table_state": TableStateFields,
    "time_punch": PunchFields,
    "drawer_open": OpenFields,
    "drawer_movement": MovementFields,
    "drawer_close": CloseFields,
}
ACTORS: list[Actor] = [DEVICE, *Role]
REFUSALS = {"not_permitted", "needs_approval"}


def pushable() -> list[str]:
    return [t for t in registry.entity_types() if registry.registered(t).spec.pushable]  # type: ignore[union-attr]


def test_every_field_of_every_pushable_type_has_a_rule() -> None:
    assert sorted(FIELDS_OF) == pushable(), "a new pushable type needs its fields listed here"
    for entity_type, struct in FIELDS_OF.items():
        entry = registry.registered(entity_type)
        assert entry is not None
        assert set(entry.fields) == set(struct.__struct_fields__), entity_type


# --- the samples: one change per field and per condition a rule names --------------------


@dataclass
class World:
    """Rows a sample may point at, made by a manager before the actor pushes."""

    product: str
    open_order: UUID
    sent_order: UUID
    open_line: UUID
    sent_line: UUID
    punching: Ipad | None = None
    """The actor's iPad: a punch names it, and by default whoever is signed in on it."""
    colleague: UUID | None = None
    """An employee other than the actor, for a punch made for someone else."""


Sample = Callable[[World, str], tuple[str, UUID, dict[str, Any]]]
"""(entity type, entity id, fields) for the actor's iPad, whose order prefix is given."""


def _new_order(w: World, prefix: str) -> tuple[str, UUID, dict[str, Any]]:
    return "order", uuid4(), order_fields(prefix, 7)


def _order_edit(fields: dict[str, Any]) -> Sample:
    return lambda w, _prefix: ("order", w.open_order, fields)


def _new_line(**fields: Any) -> Sample:
    return lambda w, _prefix: (
        "order_line",
        uuid4(),
        line_fields(w.open_order, product_id=w.product, unit_price=500, **fields),
    )


def _line_edit(fields: dict[str, Any], *, sent: bool = False) -> Sample:
    return lambda w, _prefix: ("order_line", w.sent_line if sent else w.open_line, fields)


def _cash(w: World, _prefix: str) -> tuple[str, UUID, dict[str, Any]]:
    fields = {
        "order_id": str(w.open_order),
        "amount": 100,
        "tendered": 200,
        "currency": "GBP",
        "taken_at": "2026-11-26T12:30:00Z",
        "employee_id": None,
        "tip": 0,
    }
    return "cash_payment", uuid4(), fields


def _offline_card(w: World, _prefix: str) -> tuple[str, UUID, dict[str, Any]]:
    fields = {
        "order_id": str(w.open_order),
        "amount": 100,
        "currency": "GBP",
        "stored_at": "2026-11-26T12:30:00Z",
        "employee_id": None,
        "tip": 0,
    }
    return "offline_card_payment", uuid4(), fields


def _availability(**fields: Any) -> Sample:
    return lambda w, _prefix: ("availability", uuid4(), {"product_id": w.product, **fields})


def _punch(*, for_colleague: bool = False, **fields: Any) -> Sample:
    def sample(w: World, _prefix: str) -> tuple[str, UUID, dict[str, Any]]:
        assert w.punching is not None and w.colleague is not None
        signed_in = w.punching.signed_in
        # A bare iPad names someone: the colleague (it may punch for nobody anyway).
        whom = w.colleague if for_colleague or signed_in is None else signed_in.employee_id
        body = {
            "employee_id": str(whom),
            "kind": "clock_in",
            "at": "2026-11-26T09:00:00Z",
            "device_id": str(w.punching.device_id),
            **fields,
        }
        return "time_punch", uuid4(), body

    return sample


DRAWER_STEPS: dict[str, dict[str, Any]] = {
    "drawer_open": {"drawer_id": str(uuid4()), "float_counts": {"1000": 1}},
    "drawer_movement": {
        "session_id": str(uuid4()),
        "kind": "paid_out",
        "amount": 100,
        "reason": "window cleaner",
    },
    "drawer_close": {"session_id": str(uuid4()), "counts": {"1000": 1}},
}


def _drawer_step(entity_type: str) -> Sample:
    """A drawer step on the actor's iPad, made by whoever is signed in (a bare iPad names a
    colleague). The drawer or session it names does not exist: only the permission refusals
    count here, and they come first."""

    def sample(w: World, _prefix: str) -> tuple[str, UUID, dict[str, Any]]:
        assert w.punching is not None and w.colleague is not None
        signed_in = w.punching.signed_in
        whom = w.colleague if signed_in is None else signed_in.employee_id
        body = {
            **DRAWER_STEPS[entity_type],
            "at": "2026-11-26T09:00:00Z",
            "device_id": str(w.punching.device_id),
            "employee_id": str(whom),
        }
        return entity_type, uuid4(), body

    return sample


def _table(fields: dict[str, Any]) -> Sample:
    return lambda w, _prefix: ("table_state", uuid4(), fields)


SMALL = {"discount_kind": "percent", "discount_value": 500}
LARGE = {"discount_kind": "percent", "discount_value": 5_000}
SAMPLES: dict[tuple[str, str, str | None], Sample] = {
    **{("order", name, None): _new_order for name in ("number", "device_prefix", "device_seq")},
    ("order", "opened_at", None): _new_order,
    ("order", "closed_at", None): _order_edit({"closed_at": "2026-11-26T13:00:00Z"}),
    ("order", "status", None): _order_edit({"status": "sent"}),
    ("order", "status", "paid"): _order_edit({"status": "paid"}),
    ("order", "status", "voided"): _order_edit({"status": "voided"}),
    ("order", "table_id", None): _order_edit({"table_id": None}),
    ("order", "covers", None): _order_edit({"covers": 3}),
    ("order", "notes", None): _order_edit({"notes": "window seat"}),
    ("order", "discount_kind", None): _order_edit(SMALL),
    ("order", "discount_value", None): _order_edit(SMALL),
    ("order", "discount_kind", "over_threshold"): _order_edit(LARGE),
    ("order", "discount_value", "over_threshold"): _order_edit(LARGE),
    ("order", "discount_reason", None): _order_edit({"discount_reason": "regular"}),
    ("order", "service_charge_bp", None): _order_edit({"service_charge_bp": 1_250}),
    ("order", "tip", None): _order_edit({"tip": 100}),
    **{("order_line", name, None): _new_line() for name in ("order_id", "product_id", "name")},
    ("order_line", "unit_price", None): _new_line(),
    ("order_line", "unit_price", "off_catalog"): lambda w, _p: (
        "order_line",
        uuid4(),
        line_fields(w.open_order),  # no product: an open item priced by hand
    ),
    ("order_line", "vat_rate_bp", None): _new_line(),
    ("order_line", "modifiers", None): _new_line(
        modifiers=[{"modifier_id": None, "name": "no onions", "price_delta": 0}]
    ),
    ("order_line", "modifiers", "off_catalog"): _new_line(
        modifiers=[{"modifier_id": None, "name": "extra cheese", "price_delta": 150}]
    ),
    ("order_line", "quantity", None): _line_edit({"quantity": 2}),
    ("order_line", "discount_kind", None): _line_edit(SMALL),
    ("order_line", "discount_value", None): _line_edit(SMALL),
    ("order_line", "discount_kind", "over_threshold"): _line_edit(LARGE),
    ("order_line", "discount_value", "over_threshold"): _line_edit(LARGE),
    ("order_line", "voided", None): _line_edit({"voided": True}),
    ("order_line", "voided", "after_sending"): _line_edit({"voided": True}, sent=True),
    ("order_line", "notes", None): _line_edit({"notes": "no ice"}),
    ("order_line", "position", None): _line_edit({"position": 2}),
    ("order_line", "seat", None): _line_edit({"seat": 2}),
    ("order_line", "course", None): _line_edit({"course": 1}),
    **{("cash_payment", name, None): _cash for name in CashPaymentFields.__struct_fields__},
    **{
        ("offline_card_payment", name, None): _offline_card
        for name in OfflineCardFields.__struct_fields__
    },
    ("availability", "product_id", None): _availability(sold_out=True),
    ("availability", "sold_out", None): _availability(sold_out=True),
    ("availability", "remaining", None): _availability(remaining=5),
    ("table_state", "status", None): _table({"status": "seated"}),
    ("table_state", "covers", None): _table({"covers": 2}),
    ("table_state", "order_id", None): _table({"order_id": None}),
    **{("time_punch", name, None): _punch() for name in ("employee_id", "kind", "at")},
    ("time_punch", "employee_id", "someone_else"): _punch(for_colleague=True),
    ("time_punch", "device_id", None): _punch(),
    ("time_punch", "paid", None): _punch(kind="break_start", paid=True),
    ("time_punch", "break_type_id", None): _punch(kind="break_start", break_type_id=None),
    ("time_punch", "job_role_id", None): _punch(job_role_id=None),
    ("time_punch", "declared_tips", None): _punch(kind="clock_out", declared_tips=500),
    **{
        (entity_type, name, None): _drawer_step(entity_type)
        for entity_type, struct in (
            ("drawer_open", OpenFields),
            ("drawer_movement", MovementFields),
            ("drawer_close", CloseFields),
        )
        for name in struct.__struct_fields__
    },
}


def cells() -> Iterator[tuple[str, str, str | None]]:
    """Every (type, field, condition) the registered rules name."""
    for entity_type in pushable():
        entry = registry.registered(entity_type)
        assert entry is not None
        for name, rule in entry.fields.items():
            yield entity_type, name, None
            for condition in rule.when:
                yield entity_type, name, condition


def test_every_rule_has_a_sample() -> None:
    assert sorted(cells(), key=str) == sorted(SAMPLES, key=str)


def needs(entity_type: str, name: str, condition: str | None) -> list[Permission]:
    """What a cell needs by the registered rules: the type's base permission for any change
    (the rule of its every field shares it), the field's own, and its condition's."""
    entry = registry.registered(entity_type)
    assert entry is not None
    rule = entry.fields[name]
    base = {r.needs for r in entry.fields.values()}
    return sorted(base | {rule.needs} | ({rule.when[condition]} if condition else set()))


def expected(actor: Actor, permissions: list[Permission]) -> str:
    """What the table says: applied, or the first permission lacked (in name order)."""
    for permission in permissions:
        verdict = decide(permission, actor)
        if verdict == "approval":
            return "needs_approval"
        if verdict == "deny":
            return "not_permitted"
    return "permitted"


# --- the matrix ----------------------------------------------------------------------------


async def world(client: httpx.AsyncClient, tenant: Tenant, setup: Ipad) -> World:
    made = await client.post(
        "/api/v1/products", json={"name": "Soup", "price": 500}, headers=tenant.headers
    )
    assert made.status_code == 201, made.text
    product = made.json()["id"]
    prefix = await prefix_of(setup)
    ids = [uuid4() for _ in range(4)]
    setup_seq = setup_seqs.get(setup.device_id, 0)
    changes = [
        ("order", ids[0], order_fields(prefix, setup_seq + 1)),
        ("order", ids[1], order_fields(prefix, setup_seq + 2, status="sent")),
        ("order_line", ids[2], line_fields(ids[0], product_id=product, unit_price=500)),
        ("order_line", ids[3], line_fields(ids[1], product_id=product, unit_price=500)),
    ]
    wire = [
        _wire(setup, setup_seq + n, entity_type, entity_id, fields, {})
        for n, (entity_type, entity_id, fields) in enumerate(changes, start=1)
    ]
    setup_seqs[setup.device_id] = setup_seq + len(wire)
    answer = await push(client, setup, wire)
    assert {r["outcome"] for r in answer.json()["results"]} == {"applied"}, answer.text
    return World(product, ids[0], ids[1], ids[2], ids[3])


setup_seqs: dict[UUID, int] = {}


def _wire(
    ipad: Ipad,
    seq: int,
    entity_type: str,
    entity_id: UUID,
    fields: dict[str, Any],
    clock: dict[str, int],
) -> dict[str, Any]:
    actor = str(ipad.device_id)
    return {
        "seq": seq,
        "entity_type": entity_type,
        "entity_id": str(entity_id),
        "op": "upsert",
        "fields": fields,
        "clock": {**clock, actor: clock.get(actor, 0) + 1},
        "hlc": f"{1795700000000 + seq:013d}:00000:{actor}",
    }


@pytest.mark.parametrize("actor", ACTORS, ids=str)
async def test_each_field_answers_each_actor_as_the_permission_table_says(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, actor: Actor
) -> None:
    setup = await make_ipad(app, tenant, name="Setup", signed_in=Role.owner)
    ipad = await make_ipad(app, tenant, name=f"Till {actor}")
    if actor != DEVICE:
        assert isinstance(actor, Role)
        ipad.signed_in = await offline_sign_in(ipad, await staff_member(tenant, actor))
    prefix = await prefix_of(ipad)
    colleague = await make_employee(tenant, role=Role.server)
    wrong: list[str] = []
    for seq, ((entity_type, name, condition), sample) in enumerate(
        sorted(SAMPLES.items(), key=str), start=1
    ):
        w = await world(client, tenant, setup)
        w.punching, w.colleague = ipad, colleague
        kind, entity_id, fields = sample(w, prefix)
        made_by_setup = entity_id in (w.open_order, w.sent_order, w.open_line, w.sent_line)
        clock = {str(setup.device_id): 1} if made_by_setup else {}
        if kind == "order" and "number" in fields:
            fields = order_fields(prefix, seq)
        answer = await push(client, ipad, [_wire(ipad, seq, kind, entity_id, fields, clock)])
        assert answer.status_code == 200, answer.text
        result = answer.json()["results"][0]
        got = result["reason"] if result["reason"] in REFUSALS else "permitted"
        want = expected(actor, needs(entity_type, name, condition))
        if got != want:
            cell = f"{entity_type}.{name}" + (f"[{condition}]" if condition else "")
            wrong.append(f"{cell}: {want}, got {result['outcome']} {result['reason']}")
    assert wrong == []
