"""``fynlo reconcile`` as support staff run it: the real entry point in its own process,
against the tests' PostgreSQL and this test's fake Stripe and pay-by-bank sandbox.

Exit codes: 0 balanced, 1 differences, 2 could not run, 3 nothing to compare.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import pty
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import httpx
import pytest

from server.payments.providers.base import NewPayment
from server.settings import Settings
from tests.e2e.processes import FYNLO, free_port
from tests.factories import Tenant, make_order
from tests.fakes.open_banking import OpenBankingSandbox
from tests.fakes.stripe import StripeFake
from tests.integration.cli.commands import (
    COMMAND_SECONDS,
    Ran,
    database_env,
    fynlo,
    providers_env,
)
from tests.integration.payments.api import pay
from tests.integration.payments.test_reconcile import a_day_of_trade

pytestmark = pytest.mark.usefixtures("with_bank")
PIZZA = [("Pizza", 2500, 1, 2000)]


def window() -> list[str]:
    now = datetime.now(UTC)
    since, until = now - timedelta(hours=1), now + timedelta(hours=1)
    return ["--since", since.isoformat(), "--until", until.isoformat()]


async def reconcile(tenant: Tenant, env: dict[str, str], *args: str) -> Ran:
    return await fynlo(
        "reconcile", *window(), "--restaurant", str(tenant.restaurant_id), *args, env=env
    )


async def traded(
    client: httpx.AsyncClient, tenant: Tenant, stripe: StripeFake, bank: OpenBankingSandbox
) -> None:
    """Card 25.00 less a 7.00 refund, bank 25.00 settled, cash 3.00 (hand-counted below)."""
    await a_day_of_trade(client, tenant, bank)
    await stripe.release_balance_transactions()  # Stripe books async captures later


async def a_stranger_at_stripe(stripe: StripeFake, amount: int) -> str:
    """Money Stripe took that no payment of ours explains."""
    stranger = await stripe.provider().create(
        NewPayment(payment_id=uuid4(), amount=amount, currency="GBP", reference="not ours")
    )
    await stripe.provider().confirm(stranger.reference, "pm_card_visa")
    await stripe.release_balance_transactions()
    return stranger.reference


def no_terminal_codes(ran: Ran) -> None:
    """Captured output is not a terminal: plain text, no progress bar, no colour."""
    assert "\x1b" not in ran.out + ran.err, (ran.out, ran.err)
    assert "\r" not in ran.out + ran.err


async def test_a_day_that_balances_exits_0_and_says_what_it_compared(
    client: httpx.AsyncClient,
    tenant: Tenant,
    settings: Settings,
    stripe_fake: StripeFake,
    open_banking_sandbox: OpenBankingSandbox,
    tmp_path: Path,
) -> None:
    await traded(client, tenant, stripe_fake, open_banking_sandbox)
    env = providers_env(settings, stripe_fake, open_banking_sandbox, tmp_path / "client.pem")

    ran = await reconcile(tenant, env)

    assert ran.code == 0, ran
    assert ran.err == ""
    no_terminal_codes(ran)
    lines = ran.out.splitlines()
    assert "  cash          ours 1, checked against their orders (no provider books)" in lines
    assert "  open_banking  ours 1 (£25.00), provider 1 (£25.00), difference £0.00" in lines, (
        ran.out
    )
    assert "  stripe        ours 2 (£18.00), provider 2 (£18.00), difference £0.00" in lines
    assert lines[-1] == "BALANCED: 7 payments and refunds compared, no differences"


async def test_differences_exit_1_with_each_finding_in_pounds(
    client: httpx.AsyncClient,
    tenant: Tenant,
    settings: Settings,
    stripe_fake: StripeFake,
    open_banking_sandbox: OpenBankingSandbox,
    tmp_path: Path,
) -> None:
    await traded(client, tenant, stripe_fake, open_banking_sandbox)
    stranger = await a_stranger_at_stripe(stripe_fake, 1234)
    env = providers_env(settings, stripe_fake, open_banking_sandbox, tmp_path / "client.pem")

    ran = await reconcile(tenant, env)

    assert ran.code == 1, ran
    no_terminal_codes(ran)
    assert "  stripe        ours 2 (£18.00), provider 3 (£30.34), difference -£12.34" in ran.out
    finding = next(line for line in ran.out.splitlines() if line.startswith("  ! "))
    assert finding.startswith("  ! unknown_at_fynlo: the provider took this payment;"), finding
    assert f"reference={stranger} theirs=£12.34)" in finding
    assert ran.out.splitlines()[-1].startswith("NOT BALANCED: 1 findings")


async def test_json_csv_and_text_carry_the_same_figures(
    client: httpx.AsyncClient,
    tenant: Tenant,
    settings: Settings,
    stripe_fake: StripeFake,
    open_banking_sandbox: OpenBankingSandbox,
    tmp_path: Path,
) -> None:
    await traded(client, tenant, stripe_fake, open_banking_sandbox)
    await a_stranger_at_stripe(stripe_fake, 505)
    env = providers_env(settings, stripe_fake, open_banking_sandbox, tmp_path / "client.pem")
    now = datetime.now(UTC)
    fixed = ["--since", (now - timedelta(hours=1)).isoformat()]
    fixed += ["--until", (now + timedelta(hours=1)).isoformat()]
    scope = ["--restaurant", str(tenant.restaurant_id)]

    as_json = await fynlo("reconcile", *fixed, *scope, "--format", "json", env=env)
    legacy = await fynlo("reconcile", *fixed, *scope, "--json", env=env)
    as_csv = await fynlo("reconcile", *fixed, *scope, "--format", "csv", env=env)
    as_text = await fynlo("reconcile", *fixed, *scope, "--format", "text", env=env)

    assert {as_json.code, legacy.code, as_csv.code, as_text.code} == {1}
    report = json.loads(as_json.out)
    # The first run records Stripe's fees where we had none; the later ones find them there.
    assert json.loads(legacy.out) == {**report, "fees_recorded": 0}
    assert (report["outcome"], report["balanced"], report["currency"]) == (
        "differences",
        False,
        "GBP",
    )
    providers = {p["provider"]: p for p in report["providers"]}
    assert providers["stripe"] == {
        "provider": "stripe",
        "ours_count": 2,
        "theirs_count": 3,
        "ours_net": 1800,
        "theirs_net": 2305,
        "difference": -505,
    }
    assert providers["open_banking"]["ours_net"] == providers["open_banking"]["theirs_net"] == 2500
    assert providers["cash"] == {
        "provider": "cash",
        "ours_count": 1,
        "theirs_count": None,
        "ours_net": None,
        "theirs_net": None,
        "difference": None,
    }
    assert report["compared"] == 8
    [finding] = report["findings"]
    assert (finding["kind"], finding["theirs"], finding["ours"]) == ("unknown_at_fynlo", 505, None)

    rows = list(csv.DictReader(io.StringIO(as_csv.out)))
    [summary] = [r for r in rows if r["breakdown"] == "summary"]
    assert (summary["outcome"], summary["compared"]) == ("differences", "8")
    for row in (r for r in rows if r["breakdown"] == "provider"):
        figures = providers[row["provider"]]
        for name in ("ours_net", "theirs_net", "difference"):
            expected = figures[name]
            assert row[f"{name}_gbp"] == ("" if expected is None else pounds(expected)), row
        assert row["ours_count"] == str(figures["ours_count"])
    [csv_finding] = [r for r in rows if r["breakdown"] == "finding"]
    assert (csv_finding["kind"], csv_finding["theirs_gbp"]) == ("unknown_at_fynlo", "5.05")

    for name, figures in providers.items():
        if figures["theirs_net"] is not None:
            assert (
                f"ours {figures['ours_count']} ({money(figures['ours_net'])}),"
                f" provider {figures['theirs_count']} ({money(figures['theirs_net'])}),"
                f" difference {money(figures['difference'])}"
            ) in as_text.out, name
    assert "theirs=£5.05)" in as_text.out
    assert "8 " not in as_text.out.splitlines()[-1]  # a count of findings, not of comparisons
    assert as_text.out.splitlines()[-1].startswith("NOT BALANCED: 1 findings")


def pounds(pence: int) -> str:
    whole, part = divmod(abs(pence), 100)
    return f"{'-' if pence < 0 else ''}{whole}.{part:02d}"


def money(pence: int) -> str:
    return ("-" if pence < 0 else "") + "£" + pounds(abs(pence))


async def test_a_window_with_nothing_in_it_exits_3_never_balanced(
    tenant: Tenant,
    settings: Settings,
    stripe_fake: StripeFake,
    open_banking_sandbox: OpenBankingSandbox,
    tmp_path: Path,
) -> None:
    env = providers_env(settings, stripe_fake, open_banking_sandbox, tmp_path / "client.pem")

    text = await reconcile(tenant, env)
    as_json = await reconcile(tenant, env, "--format", "json")

    assert text.code == as_json.code == 3, text
    no_terminal_codes(text)
    assert "BALANCED" not in text.out.replace("NOT BALANCED", "")
    assert text.out.splitlines()[-1].startswith("NOTHING TO COMPARE: no payments between ")
    assert "and no provider reported any" in text.out
    report = json.loads(as_json.out)
    assert (report["outcome"], report["balanced"], report["compared"]) == (
        "nothing_compared",
        False,
        0,
    )


async def test_an_unreachable_database_is_one_line_naming_it_without_its_password(
    settings: Settings,
) -> None:
    port = free_port()
    env = database_env(settings)
    env["FYNLO_DATABASE_URL"] = f"postgresql://support:hunter2@127.0.0.1:{port}/fynlo"

    ran = await fynlo("reconcile", env=env)

    assert ran.code == 2, ran
    assert ran.out == ""
    assert ran.err.startswith(
        f"error: cannot reach the database at postgresql://support:***@127.0.0.1:{port}/fynlo: "
    ), ran.err
    assert ran.err.count("\n") == 1 and "Traceback" not in ran.err
    assert "hunter2" not in ran.err


async def test_no_database_at_all_says_how_to_get_one(settings: Settings, tmp_path: Path) -> None:
    env = database_env(settings)
    del env["FYNLO_DATABASE_URL"]
    env["FYNLO_DATA_DIR"] = str(tmp_path)

    ran = await fynlo("reconcile", env=env)

    assert ran.code == 2, ran
    assert ran.err == (
        "error: No database: start `make run` (fynlo commands then use its cluster in"
        f" {tmp_path / 'postgres'}), or set FYNLO_DATABASE_URL.\n"
    )


async def test_an_unreachable_provider_is_one_line_naming_it_and_its_address(
    client: httpx.AsyncClient,
    tenant: Tenant,
    settings: Settings,
    stripe_fake: StripeFake,
    open_banking_sandbox: OpenBankingSandbox,
    tmp_path: Path,
) -> None:
    await traded(client, tenant, stripe_fake, open_banking_sandbox)
    env = providers_env(settings, stripe_fake, open_banking_sandbox, tmp_path / "client.pem")
    nowhere = f"http://127.0.0.1:{free_port()}"
    env["FYNLO_STRIPE_API_BASE"] = nowhere

    ran = await reconcile(tenant, env)

    assert ran.code == 2, ran
    assert ran.out == ""
    assert ran.err.startswith(f"error: cannot read Stripe's books at {nowhere}: "), ran.err
    assert ran.err.count("\n") == 1 and "Traceback" not in ran.err
    assert stripe_fake.api_key not in ran.err


async def test_payments_at_a_provider_it_cannot_read_are_not_called_balanced(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings, stripe_fake: StripeFake
) -> None:
    order_id = await make_order(tenant, seq=1, lines=PIZZA)
    paid = await pay(
        client, tenant.headers, order_id, method="card", amount=2500, payment_method="pm_card_visa"
    )
    assert paid.status_code == 201, paid.text

    ran = await reconcile(tenant, database_env(settings))  # no provider settings, no make run

    assert ran.code == 2, ran
    assert ran.err == (
        "error: 1 Stripe payments or refunds in the window, but Stripe is not configured"
        " (set FYNLO_STRIPE_API_KEY, or run this while `make run` runs)\n"
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--since", "2026-11-26", "--until", "2026-11-25"], "--until must be after --since"),
        (["--since", "last tuesday"], "Invalid value for '--since'"),
        (["--until", "2026-11-26T00:00:00"], "give a time zone"),
        (["--restaurant", "the-one-on-the-corner"], "Invalid value for '--restaurant'"),
        (["--format", "xml"], "Invalid value for '--format'"),
        (["--json", "--format", "csv"], "--json is --format json"),
        (["--colour"], "--colour"),
    ],
)
async def test_bad_arguments_exit_2_before_touching_anything(
    settings: Settings, args: list[str], says: str
) -> None:
    env = database_env(settings)
    env["FYNLO_DATABASE_URL"] = f"postgresql://nobody@127.0.0.1:{free_port()}/none"

    ran = await fynlo("reconcile", *args, env=env)

    assert ran.code == 2, ran
    assert says in ran.err, ran.err
    assert "Traceback" not in ran.err and ran.out == ""


def in_a_terminal(*args: str, env: dict[str, str]) -> tuple[int, str]:
    """``fynlo ARGS`` with stdout and stderr on a pseudo-terminal, as a person runs it."""
    main, child = pty.openpty()
    try:
        process = subprocess.Popen([FYNLO, *args], env=env, stdout=child, stderr=child)
        os.close(child)
        shown = b""
        while True:
            try:
                chunk = os.read(main, 4096)
            except OSError:  # EIO: the command has exited and closed the terminal
                break
            if not chunk:
                break
            shown += chunk
        return process.wait(timeout=COMMAND_SECONDS), shown.decode(errors="replace")
    finally:
        os.close(main)


async def test_in_a_terminal_it_shows_progress_and_colour(
    tenant: Tenant, settings: Settings
) -> None:
    env = database_env(settings, TERM="xterm-256color", COLUMNS="100")
    env.pop("NO_COLOR", None)

    code, shown = await asyncio.to_thread(
        in_a_terminal, "reconcile", *window(), "--restaurant", str(tenant.restaurant_id), env=env
    )

    assert code == 3, shown
    assert "\x1b[?25l" in shown, shown  # rich's progress display hides the cursor meanwhile
    assert "NOTHING TO COMPARE" in shown
    assert "\x1b[0m" in shown.split("NOTHING TO COMPARE")[1], shown  # the verdict is coloured
