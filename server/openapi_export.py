"""Write the app's OpenAPI document as stable JSON: ``python -m server.openapi_export PATH``.

The document is the one served at ``/schema/openapi.json``. Building it needs no database
(``create_app`` connects only at startup), and the signing key the app creates goes into a
throwaway folder, never into the repository.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from server.settings import Settings


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document the code describes now."""
    from server.app import create_app

    with tempfile.TemporaryDirectory(prefix="fynlo-openapi-") as data_dir:
        app = create_app(Settings(data_dir=Path(data_dir), log_level="WARNING"))
        document: dict[str, Any] = app.openapi_schema.to_schema()
    return document


def render(document: dict[str, Any]) -> str:
    """Sorted keys, two-space indent, one trailing newline: diffs show only real changes."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m server.openapi_export", description=__doc__.splitlines()[0]
    )
    parser.add_argument("path", type=Path, help="where to write the document")
    args = parser.parse_args(argv)
    path: Path = args.path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(openapi_document()), encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
