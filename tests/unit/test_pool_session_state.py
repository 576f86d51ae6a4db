"""Pooled connections are handed on without asyncpg's session reset (``server/db/engine.py``),
so no server code may leave session state on one: this fails when some starts to. (A plain
``SET x = ...`` reads like an ``UPDATE``'s ``SET``, so ``=`` is caught for the settings a
server would change (timeouts, search_path, role …) and dotted custom ones, ``x.y``; ``SET x
TO`` and ``SET SESSION`` always.)"""

from __future__ import annotations

import re
from pathlib import Path

SERVER = Path(__file__).resolve().parents[2] / "server"
# Session-scoped state a later borrower of the connection would inherit.
SESSION_STATE = {
    "session advisory lock": re.compile(r"pg_(try_)?advisory_lock(_shared)?\s*\(", re.I),
    "LISTEN": re.compile(r"\bLISTEN\s+\w|add_listener\(", re.I),
    "SET without LOCAL": re.compile(
        r"""(^|["';])\s*SET\s+(SESSION\s+)?(?!LOCAL\b)[\w.]+\s+TO\b|(^|["';])\s*SET\s+SESSION\b"""
        r"""|(^|["';])\s*SET\s+(\w+\.\w+|\w*timeout|search_path|timezone|role|work_mem"""
        r"""|application_name|session_authorization)\s*=""",
        re.I,
    ),
    "set_config for the session": re.compile(r"set_config\([^)]*,\s*false\s*\)", re.I),
    "cursor WITH HOLD": re.compile(r"WITH\s+HOLD", re.I),
}


def offending_lines() -> list[str]:
    found = []
    for path in SERVER.rglob("*.py"):
        if "piccolo_migrations" in path.parts:
            continue  # migrations run on their own connection, never the pool's
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for kind, pattern in SESSION_STATE.items():
                if pattern.search(line):
                    found.append(f"{path.relative_to(SERVER.parent)}:{number}: {kind}: {line}")
    return found


def test_no_server_code_leaves_session_state_on_a_pooled_connection() -> None:
    assert offending_lines() == []


def test_the_check_sees_session_state() -> None:
    for sample in (
        'await conn.execute("SELECT pg_advisory_lock(1)")',
        'await conn.execute("LISTEN orders")',
        'await conn.execute("SET statement_timeout TO 0")',
        'await conn.execute("SET SESSION statement_timeout = 0")',
        "select set_config('app.rid', $1, false)",
        'await conn.execute("SET lock_timeout = 0")',
        'await conn.execute("SET app.tenant = 1")',
    ):
        assert any(p.search(sample) for p in SESSION_STATE.values()), sample
    for harmless in ('"SET LOCAL statement_timeout = 0"', '"UPDATE orders SET status = $1"'):
        assert not any(p.search(harmless) for p in SESSION_STATE.values()), harmless
