"""The Conflicts page's reading of a logged conflict: field by field, the rule in words."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

from server.office.views import FINDING_ACTIONS, UNCHANGED, FieldRow, conflict_view, rule_text
from server.sync.reports import ConflictEntry


def logged(
    rule: str, current: dict[str, Any], incoming: dict[str, Any], outcome: dict[str, Any]
) -> ConflictEntry:
    """A conflict as the engine logs it: both versions whole, the iPad's change as sent."""
    return ConflictEntry(
        id=1,
        at=datetime(2026, 12, 5, 12, 0, tzinfo=UTC),
        location_id=uuid4(),
        entity_type="order",
        entity_id=uuid4(),
        device_id=uuid4(),
        rule=rule,
        current=current,
        incoming=incoming,
        outcome=outcome,
        state="new",
        acknowledged_at=None,
        acknowledged_by=None,
    )


def version(deleted: bool = False, **data: Any) -> dict[str, Any]:
    return {"data": data, "clock": {"server": 2}, "deleted": deleted}


def test_each_field_shows_the_servers_the_ipads_and_the_kept_value_disagreements_first() -> None:
    server = version(number="A-0001", notes="window seat", device_seq=1)
    sent = {"fields": {"notes": "birthday"}, "clock": {"ipad": 2}, "hlc": "x", "op": "upsert"}
    view = conflict_view(logged("lww", server, sent, server))

    assert view.rows == [
        FieldRow("Notes", "window seat", "birthday", "window seat", True),
        FieldRow("Number", "A-0001", UNCHANGED, "A-0001", False),
    ]  # the bookkeeping (device_seq, clocks) is not a manager's business
    assert view.rule == "the later edit kept"


def test_a_delete_against_a_live_record_shows_who_deleted_and_that_it_ended_deleted() -> None:
    live, gone = version(notes="birthday"), version(deleted=True)
    sent = {"fields": {}, "clock": {"ipad": 2}, "hlc": "x", "op": "delete"}
    view = conflict_view(logged("delete_wins", live, sent, gone))

    assert view.rows[0] == FieldRow("Deleted", "no", "yes", "yes", True)
    assert view.rows[1] == FieldRow("Notes", "birthday", UNCHANGED, "—", False)


def test_a_rule_list_reads_as_words_and_an_unknown_rule_reads_as_itself() -> None:
    assert rule_text("lww,counter") == "the later edit kept, both amounts added"
    assert rule_text("new_rule") == "new rule"


def test_every_kind_of_reconcile_finding_tells_a_manager_what_to_do() -> None:
    sources = "".join(
        Path(f"server/payments/{name}.py").read_text() for name in ("reconcile", "reconcile_runs")
    )
    kinds = set(re.findall(r'kind[^=:\n]*[=:]\s*"([a-z_]+)"', sources))
    assert {"stuck_payment", "overpaid_order", "net_mismatch"} <= kinds  # the pattern reads
    assert kinds <= FINDING_ACTIONS.keys(), kinds - FINDING_ACTIONS.keys()
    assert all(action.endswith(".") for action in FINDING_ACTIONS.values())
