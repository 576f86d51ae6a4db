"""The iPad's copy of the permission table (``ios/FynloPOS/.../Staff/PermissionTable.swift``),
which it reads to ask for a manager's approval before the server would refuse, agrees with
``server/auth/permissions.py`` for every permission it names."""

from __future__ import annotations

import re
from pathlib import Path

from server.auth.permissions import APPROVERS, DEVICE, POLICY, Permission
from server.auth.tables import Role

SWIFT = Path("ios/FynloPOS/Sources/FynloPOSCore/Staff/PermissionTable.swift")
RULE = re.compile(
    r'^\s*"(?P<permission>[a-z_.]+)": Rule\(allowed: \[(?P<allowed>[^\]]*)\]'
    r"(?:, withApproval: \[(?P<approval>[^\]]*)\])?(?P<alone>, ipadAlone: true)?\),$"
)


def _roles(listed: str | None) -> frozenset[Role]:
    return frozenset(Role(name.strip().lstrip(".")) for name in (listed or "").split(",") if name)


def _swift_rules() -> dict[str, tuple[frozenset[Role], frozenset[Role], bool]]:
    rules = {}
    for line in SWIFT.read_text().splitlines():
        if (found := RULE.match(line)) is not None:
            rules[found["permission"]] = (
                _roles(found["allowed"]),
                _roles(found["approval"]),
                found["alone"] is not None,
            )
    return rules


def test_every_rule_the_ipad_holds_is_the_servers() -> None:
    rules = _swift_rules()
    assert len(rules) >= 10, "the Swift table's lines no longer match RULE"
    for name, (allowed, with_approval, alone) in rules.items():
        server = POLICY[Permission(name)]
        assert allowed == server.allowed - {DEVICE}, name
        assert with_approval == server.with_approval - {DEVICE}, name
        assert alone == (DEVICE in server.allowed), name
        assert DEVICE not in server.with_approval, name


def test_the_ipad_knows_every_permission_that_takes_an_approval() -> None:
    needing = {p.value for p, rule in POLICY.items() if rule.with_approval}
    assert needing <= set(_swift_rules())


def test_approvers_and_roles_agree() -> None:
    text = SWIFT.read_text()
    cases = re.search(r"case ([a-z, ]+)\n", text)
    assert cases is not None
    assert {name.strip() for name in cases[1].split(",")} == {role.value for role in Role}
    assert "self == .owner || self == .manager" in text
    assert frozenset({Role.owner, Role.manager}) == APPROVERS
