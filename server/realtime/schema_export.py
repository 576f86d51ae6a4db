"""Write the real-time messages' JSON Schemas: ``python -m server.realtime.schema_export DIR``.

``client-message.json`` is every frame a client may send; ``server-message.json`` every
frame the server sends (its own messages and the events of ``server.events``), each tagged
by ``type``. Generated from the Structs with ``msgspec.json.schema``; ``make openapi`` writes
them into ``shared/schema/realtime/``, and a test fails when a copy is stale.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

from server import events
from server.openapi_export import render
from server.realtime import messages as m
from server.sync.schema_export import DIALECT

MESSAGES: dict[str, Any] = {
    "client-message.json": m.ClientMessage,
    "server-message.json": m.ServerMessage | events.Event,
}
"""File name -> the union of tagged Structs it describes."""


def schema(message: Any) -> dict[str, Any]:
    document: dict[str, Any] = msgspec.json.schema(message)
    return {
        "$schema": DIALECT,
        "$comment": (
            "Frames on /api/v1/ws, tagged by `type`. Generated from server/realtime/messages.py"
            " and server/events.py by `make openapi`; do not edit."
        ),
        **document,
    }


def documents() -> dict[str, str]:
    return {name: render(schema(message)) for name, message in MESSAGES.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m server.realtime.schema_export", description=__doc__.splitlines()[0]
    )
    parser.add_argument("directory", type=Path, help="where to write the schemas")
    directory: Path = parser.parse_args(argv).directory
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in documents().items():
        (directory / name).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
