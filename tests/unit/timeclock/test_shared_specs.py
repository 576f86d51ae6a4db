"""The time clock's entity specs in the shared vectors are the server's: the iPad declares the
same ones (FynloSync's ``EntitySpec.timePunch``) and its tests check them against this file,
so a spec changed on one side only fails a test on both."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

from server.sync.rules import EntitySpec
from server.timeclock.sync import TIME_PUNCH, TIME_PUNCH_CORRECTION

SPECS = json.loads(Path("shared/schema/vectors/timeclock.json").read_text())["specs"]


def test_the_shared_vectors_hold_the_servers_time_clock_specs() -> None:
    assert {name: msgspec.convert(spec, EntitySpec) for name, spec in SPECS.items()} == {
        "time_punch": TIME_PUNCH,
        "time_punch_correction": TIME_PUNCH_CORRECTION,
    }
