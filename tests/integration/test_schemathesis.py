"""Fuzz every operation of the OpenAPI document with Schemathesis (reliability notes, G1).

The document under test is the one the code generates (``test_openapi`` keeps the served and
committed copies equal to it). The server runs as ``fynlo serve`` in its own process on the
session's database, signed in as a fresh restaurant's owner: the app's connection pool is
one per process and bound to the tests' event loop, which cannot serve requests while
Schemathesis' synchronous client waits for them. The schema is loaded at import rather than
through ``schemathesis.pytest.from_fixture``, which fails under pytest 9 (4.32 reads the
removed ``Function._nodeid``), so the base URL and token are given per call instead.

Two tests: every operation on its own (``FUZZ_EXAMPLES`` each), and scenarios that chain
operations along the links Schemathesis infers from the document (an id one answer carries, a
parameter of that name elsewhere), which adds the stateful checks. Every answer must also come
within ``MAX_RESPONSE_SECONDS``. ``make test-release`` runs both at full size.

Every run of the first sends the same requests: generation is derandomized from a fixed seed (each
operation's own seed is derived from it and the operation's name), so a run cannot pass or
fail by chance, and a failure reproduces by running the test again. Change ``SEED`` to explore
other inputs on purpose. The scenarios start from the same seed, but each answer feeds the
next request, so they follow what the database holds and can differ from run to run; a
failure names the operation and the check.

Every check runs, ``positive_data_acceptance`` too: a request the document calls valid must not
be refused with a 4xx that the document does not foresee. Its defaults already count 401, 403,
404, 409 and 429 as acceptable (a drawn id names no row, a payment is in another state). What
the server requires of a request's shape the document declares (a required
``Idempotency-Key``, ``tendered`` for cash only, bounds on amounts, ...). A few refusals depend
on what JSON Schema cannot state: rows that must exist, a cursor the server issued, a rule
across members, the caller's kind of token, a provider's signature. Those are said in words
(descriptions, docs/errors.md), and ``filter_failure`` below drops such a refusal only after
checking, with the server's own rule where there is one, that the request really breaks it.
Counting 400 as acceptable for those operations instead (``expected-statuses``) would also
accept the drift this check is for: a payment body refused for its method's members is a 400.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import available_timezones

import pytest
import pytest_asyncio
import schemathesis
from hypothesis import HealthCheck, settings
from litestar import Litestar
from schemathesis.core.failures import Failure
from schemathesis.core.transport import Response
from schemathesis.engine import from_schema
from schemathesis.engine.events import FatalError, NonFatalError, ScenarioFinished
from schemathesis.openapi.checks import RejectedPositiveData, UseAfterFree

from server.employees.pins import check_pin
from server.errors import ValidationFailed
from server.openapi_export import openapi_document
from server.pagination import check_instant
from server.payments.apple_pay import allowed_urls
from server.payments.terminal import NEEDS_STATE
from server.settings import Settings
from server.timeclock.sync import MAX_AHEAD
from tests.e2e.processes import FYNLO, free_port, fynlo_env, stop, wait_for
from tests.factories import make_tenant

MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
"""Examples per operation; a release run sets ``FUZZ_EXAMPLES=1000`` (docs/testing.md)."""
STATEFUL_EXAMPLES = int(os.environ.get("FUZZ_STATEFUL_EXAMPLES", "30"))
"""Scenarios along the document's links, each up to ``STATEFUL_STEPS`` calls long."""
STATEFUL_STEPS = 20
MAX_RESPONSE_SECONDS = 1.0
"""Every answer within a second (reliability notes G1), on this 2-core machine under the fuzzer."""
SEED = 20261126

CONFIG: dict[str, Any] = {
    "seed": SEED,
    "checks": {
        "enabled": True,
        "positive_data_acceptance": {"enabled": True},  # see `filter_failure`
        "max_response_time": MAX_RESPONSE_SECONDS,
    },
    "generation": {
        "max-examples": MAX_EXAMPLES,
        "database": "none",
        "deterministic": True,  # Hypothesis' derandomize; the seed above takes precedence
        # PostgreSQL text cannot hold NUL, so every body with one is refused whole
        # (docs/errors.md); JSON Schema has no word for "any character but NUL".
        "allow-x00": False,
    },
}
schema = schemathesis.openapi.from_dict(
    openapi_document(), config=schemathesis.Config.from_dict(CONFIG)
)


@schema.auth(refresh_interval=None)  # no caching: cases are built before the token exists
class OwnerToken:
    """Signs requests in as the fuzzed restaurant's owner (``fuzzed_server`` sets the token)."""

    token: str | None = None

    def get(self, case: schemathesis.Case, context: schemathesis.AuthContext) -> str | None:
        return OwnerToken.token

    def set(self, case: schemathesis.Case, data: str, context: schemathesis.AuthContext) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.fixture(scope="module")
def live_server(
    app: Litestar, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """``fynlo serve`` on a free port, on the migrated test database and the tests' keys."""
    port = free_port()
    env = fynlo_env(
        FYNLO_DATABASE_URL=settings.database_url or "",
        FYNLO_DATA_DIR=str(settings.data_dir),
        FYNLO_PORT=str(port),
        # Every method's provider exists (the fakes), so a 503 would be a real failure.
        FYNLO_PAYMENT_FAKES="true",
        # Its poller must not settle other tests' payments in the shared database.
        FYNLO_PAYMENT_POLL_SECONDS="3600",
    )
    log_path = tmp_path_factory.mktemp("fuzz") / "server.log"
    print(f"fynlo serve logs to {log_path}")  # shown with a failure, to match request ids
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [FYNLO, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT, text=True
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base_url}/ready", process)
        yield base_url
    finally:
        stop(process)


@pytest_asyncio.fixture(scope="module")
async def fuzzed_server(live_server: str, app: Litestar) -> str:
    """The server's base URL, once a fresh restaurant exists to be signed in as."""
    OwnerToken.token = (await make_tenant(app)).token
    return live_server


@schema.hook("map_body")
def integers_without_a_fraction(context: schemathesis.HookContext, body: Any) -> Any:
    """Write ``50.0`` as ``50``, as every client's JSON encoder writes an integer.

    JSON Schema counts ``50.0`` as an integer; our strict bodies do not (docs/errors.md), and
    no schema keyword tells the two apart. The same number is sent, only written as clients do.
    """
    if isinstance(body, float) and body.is_integer():
        return int(body)
    if isinstance(body, dict):
        return {key: integers_without_a_fraction(context, value) for key, value in body.items()}
    if isinstance(body, list):
        return [integers_without_a_fraction(context, value) for value in body]
    return body


# Operations for enrolled iPads, refused to the back-office owner the fuzzer signs in as.
DEVICE_ONLY = {
    ("/api/v1/auth/pin", "PIN sign-in happens on an enrolled iPad"),
    ("/api/v1/auth/approvals", "approvals are given on an enrolled iPad"),
    ("/api/v1/sync/pull", "sync is for enrolled iPads; send the device token"),
    ("/api/v1/sync/push", "sync is for enrolled iPads; send the device token"),
    ("/api/v1/employees/offline-credentials", "offline credentials are issued to an enrolled iPad"),
    (
        "/api/v1/employees/offline-pin-failures",
        "offline PIN failures are reported by an enrolled iPad",
    ),
}


@schema.hook
def filter_failure(
    context: schemathesis.HookContext, failure: Failure, case: schemathesis.Case, response: Response
) -> bool:
    """Keep every failure but the refusal of valid data for a reason the document cannot state,
    and an archived row answered as archived."""
    if isinstance(failure, UseAfterFree):
        return not answered_archived(case, response)
    if not isinstance(failure, RejectedPositiveData) or response.status_code != 400:
        return True
    try:
        problem = response.json()
        dropped = isinstance(problem, dict) and refused_for_what_the_schema_cannot_state(
            case, problem
        )
    except (KeyError, TypeError, ValueError):  # not one of the refusals below: keep it
        return True
    return not dropped


def answered_archived(case: schemathesis.Case, response: Response) -> bool:
    """Our ``DELETE`` archives (each one's summary says so): the row stays readable and
    editable by id, marked ``archived``, because orders and reports still name it and a
    ``PATCH`` with ``archived: false`` restores it."""
    if case.method not in ("GET", "PATCH") or response.status_code != 200:
        return False
    body = response.json()
    return isinstance(body, dict) and body.get("archived") is True


def refused_for_what_the_schema_cannot_state(
    case: schemathesis.Case, problem: dict[str, Any]
) -> bool:
    """Whether ``problem`` refuses ``case`` for one of these reasons, and ``case`` breaks it."""
    code, member, detail = problem.get("code"), problem.get("field"), problem.get("detail", "")
    body: dict[str, Any] = case.body if isinstance(case.body, dict) else {}
    query: dict[str, Any] = case.query or {}
    if code == "webhook.invalid":
        # A provider's signature is a credential: one that was drawn never verifies.
        return True
    if code == "apple_pay.validation_url":
        # Only the configured Apple URLs are ever called (the server fetches nothing else).
        return body.get("validation_url") not in allowed_urls()
    if code != "validation_failed":
        return False
    if (case.path, detail) in DEVICE_ONLY:
        return True
    if member == "cursor":
        # A cursor is the `next_cursor` of an earlier page: a drawn one was never issued.
        return "cursor" in query
    if detail.startswith("no such "):
        # The member names a row that must exist in this restaurant; drawn ids name none.
        return names_ids(body.get(member or ""))
    if member == "registration_code" and detail.startswith("Stripe refused the reader"):
        # The code a reader shows when pairing; a drawn one names no reader Stripe knows.
        return True
    if member == "state" and detail.startswith("state is required for an address in"):
        # Stripe's rule across members: the state, in the countries that have them.
        return body.get("country") in NEEDS_STATE and not body.get("state")
    if member == "timezone":
        return body.get("timezone") not in available_timezones()
    if member == "pin":
        # A fresh restaurant's policy: 6 to 8 digits, no common PIN (4 if the owner allows).
        return breaks(check_pin, body.get("pin"), allow_four_digits=False)
    if member == "state" and detail.startswith("state must be one of "):
        # Litestar reserves the name ``state``: read as text, its values are in its description.
        return True
    if member in ("opened_from", "opened_to", "since", "until"):
        # 1970 to 9999 (docs/errors.md): JSON Schema bounds numbers, not instants.
        return breaks(check_instant, datetime.fromisoformat(query[member]), field=member)
    if member in ("starts_at", "ends_at") and detail == "date out of range (1970 to 9999)":
        # The same bounds on a scheduled shift's instants, in the body.
        return breaks(check_instant, datetime.fromisoformat(body[member]), field=member)
    if detail == "ends_at must be after starts_at, at most 24 hours later":
        length = datetime.fromisoformat(body["ends_at"]) - datetime.fromisoformat(body["starts_at"])
        return not timedelta(0) < length <= timedelta(hours=24)
    if member == "at" and case.path == "/api/v1/time-clock/corrections":
        # A correction's time: 1970 to 9999, and no further ahead than a punch may be.
        at = datetime.fromisoformat(body["at"])
        return breaks(check_instant, at, field="at") or at > datetime.now(UTC) + MAX_AHEAD
    if detail == "tips are declared when clocking out":
        return bool(body.get("declared_tips")) and body.get("kind") != "clock_out"
    if detail == "a role is chosen when clocking in":
        return body.get("job_role_id") is not None and body.get("kind") != "clock_in"
    if detail == "min_choices must not exceed max_choices":
        return body.get("min_choices", 0) > body.get("max_choices", 1)
    if detail == "end must be on or after start, at most a year later":
        start, end = date.fromisoformat(query["start"]), date.fromisoformat(query["end"])
        return not 0 <= (end - start).days <= 366
    if detail == "location_id is required from the back office":
        # A drawer's location: the iPad's own on an iPad, so only the back office names it.
        return body.get("location_id") is None
    if detail == "location_id is required":
        # The X-report: an iPad reports its own location, a back-office caller names one.
        return "location_id" not in query
    if detail == "tendered must cover the amount and the tip":
        return bool(body["tendered"] < body["amount"] + body.get("tip", 0))
    return False


def names_ids(value: Any) -> bool:
    """A UUID, or a list of them: what a member naming rows holds."""
    values = value if isinstance(value, list) else [value]
    try:
        return bool(values) and all(UUID(item) for item in values)
    except (TypeError, ValueError):
        return False


def breaks(rule: Callable[..., object], *args: Any, **kwargs: Any) -> bool:
    """Whether the server's own ``rule`` refuses these arguments."""
    try:
        rule(*args, **kwargs)
    except ValidationFailed:
        return True
    return False


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_every_operation_answers_as_documented(case: schemathesis.Case, fuzzed_server: str) -> None:
    case.call_and_validate(base_url=fuzzed_server)


@dataclass
class Scenarios:
    run: int = 0
    calls: int = 0
    with_ids: int = 0
    failures: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def test_scenarios_along_the_links_answer_as_documented(fuzzed_server: str) -> None:
    """Chains of calls where one answer's ids feed the next request (create, read, update,
    delete, then read again), which adds the stateful checks: ``use_after_free`` (a deleted
    row still served) and ``ensure_resource_availability`` (a created row not found).

    Run by Schemathesis' own engine, as its CLI runs them. A scenario replayed against a
    database that earlier scenarios changed can draw differently; Hypothesis then calls the
    run flaky and the engine ends the phase there, as a pass, however many scenarios were
    asked for. So rounds, each from its own seed, run until ``STATEFUL_EXAMPLES`` have.
    """
    seen = Scenarios()
    for round_number in range(STATEFUL_EXAMPLES):  # a round runs one scenario at least
        before = seen.run
        _scenarios(fuzzed_server, SEED + round_number, seen)
        if seen.run >= STATEFUL_EXAMPLES or seen.run == before:
            break
    print(
        f"{seen.run} scenarios, {seen.calls} calls along the links,"
        f" {seen.with_ids} of them to a path naming an id"
    )
    assert not seen.errors, seen.errors
    assert not seen.failures, "\n".join(sorted(set(seen.failures)))
    assert seen.run >= STATEFUL_EXAMPLES
    assert seen.with_ids > 0  # some followed a link to a row an earlier answer named


def _scenarios(base_url: str, seed: int, seen: Scenarios) -> None:
    """One run of the engine's stateful phase from ``seed``, added to ``seen``."""
    stateful = schemathesis.openapi.from_dict(
        openapi_document(),
        config=schemathesis.Config.from_dict(
            {
                **CONFIG,
                "seed": seed,
                "base-url": base_url,
                "headers": {"Authorization": f"Bearer {OwnerToken.token}"},
                "phases": {
                    "examples": {"enabled": False},
                    "coverage": {"enabled": False},
                    "fuzzing": {"enabled": False},
                    "stateful": {
                        "enabled": True,
                        "max-steps": STATEFUL_STEPS,
                        "generation": {"max-examples": STATEFUL_EXAMPLES - seen.run},
                        "inference": {"algorithms": ["dependency-analysis"]},
                    },
                },
            }
        ),
    )
    stateful.hook(filter_failure)
    stateful.hook("map_body")(integers_without_a_fraction)
    for event in from_schema(stateful).execute():
        if isinstance(event, ScenarioFinished):
            seen.run += 1
            cases = event.recorder.cases
            seen.calls += len(cases)
            seen.with_ids += sum(1 for node in cases.values() if node.value.path_parameters)
            seen.failures += [
                _described(check, cases[case_id].value, event.recorder.interactions.get(case_id))
                for case_id, checks in event.recorder.checks.items()
                for check in checks
                if check.failure_info is not None
            ]
        elif isinstance(event, (NonFatalError, FatalError)):
            seen.errors.append(repr(event.info.error if hasattr(event, "info") else event))


def _described(check: Any, case: schemathesis.Case, interaction: Any) -> str:
    failure = check.failure_info.failure
    answer = interaction.response if interaction is not None else None
    sent = f" body {case.body!r:.300}" if case.body is not None else ""
    got = f" -> {answer.status_code} {answer.text[:300]}" if answer is not None else ""
    return f"{case.method} {case.path}: {check.name}: {failure.title}:{sent}{got}"
