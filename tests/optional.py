"""Redis and Chromium are optional only when the user says so (``FYNLO_TEST_WITHOUT``).

``make test`` installs both. A developer who chose not to (``FYNLO_TEST_WITHOUT=redis,chromium``)
gets the tests that need them skipped, with one summary line per piece saying why; without
the variable a missing piece fails those tests. CI ignores the variable (``.ci/run``).
"""

from __future__ import annotations

import os
import shutil

import pytest

BINARIES = {"redis": "redis-server", "chromium": "chromium"}
CHROMIUM = "/usr/bin/chromium"


def left_out() -> set[str]:
    """The optional pieces named in ``FYNLO_TEST_WITHOUT`` (comma-separated)."""
    return {part.strip() for part in os.environ.get("FYNLO_TEST_WITHOUT", "").split(",") if part}


def require(piece: str) -> None:
    """Go on if ``piece`` is installed; skip if the user left it out; otherwise fail."""
    binary = BINARIES[piece]
    if shutil.which(binary) is not None:
        return
    if piece in left_out():
        pytest.skip(f"needs {binary}, not installed and left out by FYNLO_TEST_WITHOUT")
    pytest.fail(
        f"{binary} is not installed: `make test` installs it (scripts/system-packages test), "
        f"or set FYNLO_TEST_WITHOUT={piece} to skip the tests that need it"
    )
