"""The sync JSON Schemas in shared/schema/sync/: in step with the code, and describing it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from uuid import uuid4

import msgspec
import pytest

from server.sync.feed import FeedCursor, encode_cursor
from server.sync.protocol import (
    ChangeResult,
    EntityState,
    PullResponse,
    PushRequest,
    PushResponse,
)
from server.sync.schema_export import MESSAGES, documents, main, schema

jsonschema_rs = pytest.importorskip("jsonschema_rs", reason="installed with schemathesis")

DIRECTORY = Path(__file__).resolve().parents[3] / "shared" / "schema" / "sync"
DEVICE = str(uuid4())


def committed(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((DIRECTORY / name).read_text(encoding="utf-8"))
    return document


def validator(name: str) -> Any:
    return jsonschema_rs.Draft202012Validator(committed(name), validate_formats=True)


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_the_committed_schema_is_what_the_code_generates(name: str) -> None:
    path = DIRECTORY / name
    assert path.exists(), f"{path} is missing: run `make openapi`"
    assert path.read_text(encoding="utf-8") == documents()[name], (
        f"{path} is stale: run `make openapi` and commit the result"
    )


def test_the_exporter_writes_every_schema(tmp_path: Path) -> None:
    assert main([str(tmp_path / "out")]) == 0
    written = {path.name: path.read_text(encoding="utf-8") for path in (tmp_path / "out").iterdir()}
    assert written == documents()
    for text in written.values():
        assert text.endswith("}\n") and not text.endswith("\n\n")
        document = json.loads(text)
        assert list(document) == sorted(document)
        assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        jsonschema_rs.meta.validate(document)  # a valid JSON Schema itself


def test_each_schema_refers_to_its_message_in_defs() -> None:
    for message in MESSAGES.values():
        document = schema(message)
        assert document["$ref"] == f"#/$defs/{message.__name__}"
        assert message.__name__ in document["$defs"]


def change(seq: int, **overrides: Any) -> dict[str, Any]:
    return {
        "seq": seq,
        "entity_type": "order_line",
        "entity_id": str(uuid4()),
        "op": "upsert",
        "fields": {"name": "Tea", "unit_price": 300, "quantity": 2, "vat_rate_bp": 2000},
        "clock": {DEVICE: seq},
        "hlc": f"1795700000000:00000:{DEVICE}",
        **overrides,
    }


def push_body(**overrides: Any) -> dict[str, Any]:
    return {
        "batch_id": str(uuid4()),
        "device_id": DEVICE,
        "schema_version": 1,
        "app_version": "1.4.0",
        "changes": [
            change(
                1,
                actor={"employee_id": str(uuid4()), "proof": "ab" * 32},
                approval={
                    "approver_id": str(uuid4()),
                    "permission": "orders.price_override",
                    "proof": "cd" * 32,
                },
            ),
            # Nobody signed in: the members may be null (or left out).
            change(2, op="delete", fields={}, actor=None, approval=None),
        ],
        "outbox_backlog": 12,
        "oldest_unsent_age_seconds": 95,
        **overrides,
    }


def test_a_valid_push_body_matches_the_schema_and_decodes() -> None:
    body = push_body()
    validator("push-request.json").validate(body)
    request = msgspec.json.decode(json.dumps(body), type=PushRequest)
    assert json.loads(msgspec.json.encode(request)) == body


@pytest.mark.parametrize(
    "body",
    [
        push_body(changes=[]),
        push_body(changes=[change(0)]),
        push_body(changes=[change(1, entity_type="Order")]),
        push_body(changes=[change(1, op="merge")]),
        push_body(changes=[change(1, clock={DEVICE: -1})]),
        push_body(changes=[change(1, hlc="")]),
        push_body(changes=[{k: v for k, v in change(1).items() if k != "clock"}]),
        push_body(changes=[change(1, extra=True)]),
        push_body(app_version=""),
        push_body(batch_id="not-a-uuid"),
        push_body(unknown="field"),
        push_body(outbox_backlog=-1),
        push_body(oldest_unsent_age_seconds=400 * 24 * 3600),
        {k: v for k, v in push_body().items() if k != "device_id"},
    ],
)
def test_an_invalid_push_body_fails_both_the_schema_and_the_server(body: dict[str, Any]) -> None:
    assert not validator("push-request.json").is_valid(body)
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(json.dumps(body), type=PushRequest)


def entity() -> EntityState:
    return EntityState(
        entity_type="order",
        entity_id=uuid4(),
        location_id=uuid4(),
        data={"status": "open", "covers": 2},
        clock={DEVICE: 3, "server": 1},
        deleted=False,
    )


def test_a_pull_response_built_by_the_server_matches_the_schema() -> None:
    menu_item = EntityState(
        entity_type="product",
        entity_id=uuid4(),
        location_id=None,
        data={"name": "Tea"},
        clock={"server": 1},
        deleted=False,
    )
    tombstone = msgspec.structs.replace(entity(), data={}, deleted=True)
    for phase in ("snapshot", "feed"):
        response = PullResponse(
            changes=[entity(), menu_item, tombstone],
            cursor=encode_cursor(FeedCursor(xid=812, seq=40)),
            has_more=phase == "snapshot",
            phase=phase,  # type: ignore[arg-type]
            last_applied_seq=7,
        )
        wire = json.loads(msgspec.json.encode(response))
        validator("pull-response.json").validate(wire)
        assert msgspec.json.decode(msgspec.json.encode(response), type=PullResponse) == response
    assert not validator("pull-response.json").is_valid({**wire, "phase": "bootstrap"})
    assert not validator("pull-response.json").is_valid(
        {k: v for k, v in wire.items() if k != "cursor"}
    )


def test_a_push_response_built_by_the_server_matches_the_schema() -> None:
    state = entity()
    response = PushResponse(
        batch_id=uuid4(),
        last_applied_seq=2,
        results=[
            ChangeResult(
                seq=1,
                entity_type=state.entity_type,
                entity_id=state.entity_id,
                outcome="applied",
                state=state,
            ),
            ChangeResult(
                seq=2,
                entity_type="order_line",
                entity_id=uuid4(),
                outcome="rejected",
                state=None,
                reason="invalid_fields",
                detail="quantity must be between 1 and 10000",
            ),
        ],
    )
    wire = json.loads(msgspec.json.encode(response))
    validator("push-response.json").validate(wire)
    wire["results"][0]["outcome"] = "lost"
    assert not validator("push-response.json").is_valid(wire)
