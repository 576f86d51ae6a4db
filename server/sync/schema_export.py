"""Write the sync wire format's JSON Schemas: ``python -m server.sync.schema_export DIR``.

One file per message (``push-request.json``, ``push-response.json``, ``pull-response.json``),
generated from the Structs in ``server/sync/protocol.py`` with ``msgspec.json.schema``, so the
iPad app and any other client can check their payloads against the server's own definition.
``make openapi`` writes them into ``shared/schema/sync/``; a test fails when a copy is stale.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

from server.openapi_export import render
from server.sync.protocol import SCHEMA_VERSION, PullResponse, PushRequest, PushResponse

DIALECT = "https://json-schema.org/draft/2020-12/schema"

MESSAGES: dict[str, type[msgspec.Struct]] = {
    "push-request.json": PushRequest,
    "push-response.json": PushResponse,
    "pull-response.json": PullResponse,
}
"""File name -> the Struct it describes."""


def schema(message: type[msgspec.Struct]) -> dict[str, Any]:
    """The JSON Schema of ``message``: a ``$ref`` to it in ``$defs``, with what it refers to."""
    document: dict[str, Any] = msgspec.json.schema(message)
    return {
        "$schema": DIALECT,
        "$comment": (
            f"Sync wire schema version {SCHEMA_VERSION}. Generated from server/sync/protocol.py"
            " by `make openapi`; do not edit."
        ),
        **document,
    }


def documents() -> dict[str, str]:
    """File name -> its text, exactly as it is written to disk."""
    return {name: render(schema(message)) for name, message in MESSAGES.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m server.sync.schema_export", description=__doc__.splitlines()[0]
    )
    parser.add_argument("directory", type=Path, help="where to write the schemas")
    args = parser.parse_args(argv)
    directory: Path = args.directory
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in documents().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
