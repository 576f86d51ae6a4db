"""The real-time JSON Schemas in shared/schema/realtime/: in step with the code, and true."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from uuid import uuid4

import msgspec
import pytest

from server import events
from server.realtime import messages as m
from server.realtime.schema_export import MESSAGES, documents, main

jsonschema_rs = pytest.importorskip("jsonschema_rs", reason="installed with schemathesis")

DIRECTORY = Path(__file__).resolve().parents[3] / "shared" / "schema" / "realtime"


def validator(name: str) -> Any:
    document = json.loads((DIRECTORY / name).read_text(encoding="utf-8"))
    return jsonschema_rs.Draft202012Validator(document, validate_formats=True)


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_the_committed_schema_is_what_the_code_generates(name: str) -> None:
    path = DIRECTORY / name
    assert path.exists(), f"{path} is missing: run `make openapi`"
    assert path.read_text(encoding="utf-8") == documents()[name], (
        f"{path} is stale: run `make openapi` and commit the result"
    )


def test_the_exporter_writes_every_schema(tmp_path: Path) -> None:
    assert main([str(tmp_path / "out")]) == 0
    written = {p.name: p.read_text(encoding="utf-8") for p in (tmp_path / "out").iterdir()}
    assert written == documents()
    for text in written.values():
        jsonschema_rs.meta.validate(json.loads(text))


def test_every_frame_the_server_sends_fits_the_schema() -> None:
    rid, lid, some = str(uuid4()), str(uuid4()), str(uuid4())
    frames: list[Any] = [
        m.Welcome(channels=[f"fynlo.{rid}.everyone"], expires_at=1_800_000_000,
                  heartbeat_seconds=20),
        m.Ping(server_time=1_800_000_000_000),
        events.SyncPoke(restaurant_id=rid, location_id=None),
        events.OrderStatusChanged(restaurant_id=rid, location_id=lid, order_id=some, status="paid"),
        events.PaymentStatusChanged(
            restaurant_id=rid, location_id=lid, payment_id=some, order_id=some, method="cash",
            state="succeeded",
        ),
        events.DevicePresence(
            restaurant_id=rid, location_id=lid, device_id=some, online=True,
            last_seen="2026-11-26T12:00:00Z",
        ),
        events.ConflictLogged(
            restaurant_id=rid, location_id=lid, entity_type="order", entity_id=some, rule="merge"
        ),
        events.DeviceRevoked(restaurant_id=rid, device_id=some),
    ]  # fmt: skip
    check = validator("server-message.json")
    for frame in frames:
        check.validate(json.loads(msgspec.json.encode(frame)))


def test_client_frames_fit_and_strays_do_not() -> None:
    check = validator("client-message.json")
    check.validate({"type": "auth", "token": "t", "locations": [str(uuid4())]})
    check.validate({"type": "pong"})
    assert not check.is_valid({"type": "auth"})
    assert not check.is_valid({"type": "subscribe", "channels": ["fynlo.other.managers"]})
    assert not check.is_valid({"type": "auth", "token": "t", "channel": "x"})
