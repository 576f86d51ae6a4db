"""One write path: only the sync store writes synced state (issue 12). A new module that
writes an order, a line or an availability row by hand, or reads ``sync_entities`` itself,
fails here and must go through ``server/sync/store.py`` instead."""

from __future__ import annotations

import re
from pathlib import Path

SERVER = Path(__file__).resolve().parents[2] / "server"

# The store; and the feed, which reads it to serve pulls and purges old tombstones.
SYNC_ENTITIES_ALLOWED = {"sync/store.py", "sync/feed.py"}
# The projections the store calls to write a synced state into its domain's tables.
PROJECTED_ALLOWED = {"orders/sync.py", "catalog/sync.py"}

SYNC_ENTITIES = re.compile(r"\bsync_entities\b")
PROJECTED = re.compile(
    r"(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(orders|order_lines|availability)\b"
    r"|\b(Order|OrderLine|Availability)\.(insert|update|delete|raw)\(",
    re.IGNORECASE,
)


def sources() -> list[tuple[str, str]]:
    return [
        (str(path.relative_to(SERVER)), path.read_text())
        for path in sorted(SERVER.rglob("*.py"))
        if "piccolo_migrations" not in path.parts
    ]


def test_only_the_store_touches_sync_entities() -> None:
    found = {name for name, text in sources() if SYNC_ENTITIES.search(text)}
    assert found <= SYNC_ENTITIES_ALLOWED, found - SYNC_ENTITIES_ALLOWED


def test_only_projections_write_synced_domain_tables() -> None:
    found = {
        f"{name}: {match.group(0)}"
        for name, text in sources()
        if name not in PROJECTED_ALLOWED
        for match in PROJECTED.finditer(text)
    }
    assert not found, sorted(found)


def test_the_checks_catch_a_hand_written_update() -> None:
    assert PROJECTED.search("\"UPDATE orders SET status = 'paid'\"")
    assert PROJECTED.search("await Order.update({Order.status: 'voided'})")
    assert SYNC_ENTITIES.search('"SELECT 1 FROM sync_entities"')
    assert not SYNC_ENTITIES.search("from server.sync import entities as _sync_entities")
