"""``make test-swift``: the Swift packages' tests, with a real server for the integration ones.

Run as ``python -m tests.swift_harness [PACKAGE_DIR ...]`` (default: every ``ios/*`` folder with
a ``Package.swift``). Everything stays on 127.0.0.1 and every wait has a deadline:

1. a throwaway PostgreSQL cluster (as ``tests/conftest.py`` starts one), ``fynlo db migrate``
   and ``fynlo demo --load`` against it;
2. ``ENROLMENT_CODES`` fresh one-time codes from ``fynlo demo --json`` (which also names the
   demo manager), one per iPad the Swift tests enrol;
3. ``fynlo serve`` on a free port with a scratch ``FYNLO_DATA_DIR`` and the payment providers'
   fakes, waited on until ``/ready`` answers;
4. ``swift test --package-path DIR`` for each package, with ``FYNLO_SYNC_URL``,
   ``FYNLO_SYNC_ENROLMENT_CODES`` and ``FYNLO_SYNC_MANAGER_EMAIL`` / ``_PASSWORD`` set, so the
   integration suites run against the server (and fail, not skip, if it is not answering).

The server and the cluster are always stopped on the way out, on failure and on SIGTERM
too (children also get SIGTERM if this process dies without cleaning up). The exit code is
swift's: the first package that failed, else 0.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from load import processes
from server.db.cluster import PostgresCluster
from tests.optional import left_out

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ENROLMENT_CODES = 12
"""One per iPad the integration tests enrol, each test its own index: FynloSync 0 to 3 (3: signed
changes), FynloPOS's order test 4, its staff test 8 and 9; the rest spare. (FynloPOS's payment
tests enrol with codes they ask the manager API for; its service test makes a location of its own
as the owner, so its orders, payments and daily report are its alone, and a code for it.)"""
SWIFT_SECONDS = 45 * 60
"""A cold build of the package on two cores takes minutes; the tests themselves seconds."""


class HarnessBroken(Exception):
    """The server could not be set up; the Swift tests did not run."""


def main(argv: Sequence[str] | None = None) -> int:
    packages = _packages(sys.argv[1:] if argv is None else argv)
    if not packages:
        print("no Swift packages (no ios/*/Package.swift): nothing to test")
        return 0
    swift = os.environ.get("SWIFT") or shutil.which("swift") or "/opt/swift/usr/bin/swift"
    if not Path(swift).is_file() and "swift" in left_out():
        print("SKIPPED the Swift tests: no swift toolchain, left out by FYNLO_TEST_WITHOUT")
        return 0
    signal.signal(signal.SIGTERM, processes.terminate)
    try:
        return _run(packages, swift)
    except HarnessBroken as exc:
        print(f"swift harness broken: {exc}", file=sys.stderr)
        return 1
    except processes.Terminated:
        print("swift harness stopped by SIGTERM; everything it started is stopped", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("swift harness interrupted; everything it started is stopped", file=sys.stderr)
        return 130


def _packages(arguments: Sequence[str]) -> list[Path]:
    folders = [Path(arg) for arg in arguments] or sorted(
        manifest.parent for manifest in (REPO / "ios").glob("*/Package.swift")
    )
    missing = [str(folder) for folder in folders if not (folder / "Package.swift").is_file()]
    if missing:
        raise SystemExit(f"not Swift packages (no Package.swift): {', '.join(missing)}")
    return folders


def _run(packages: list[Path], swift: str) -> int:
    began = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="fynlo-swift-") as scratch,
        PostgresCluster.throwaway() as cluster,
    ):
        work = Path(scratch)
        port = processes.free_port()
        env = processes.server_env(dsn=cluster.dsn, port=port, data_dir=work / "data")
        # The providers' fakes on 127.0.0.1 (pay-by-bank sandbox, Stripe), as `make run` has them:
        # FynloPOS's payment tests pay through them.
        env["FYNLO_PAYMENT_FAKES"] = "true"
        processes.fynlo_once("db", "migrate", env=env, failure=HarnessBroken)
        processes.fynlo_once("demo", "--load", env=env, failure=HarnessBroken)
        demos = [
            json.loads(processes.fynlo_once("demo", "--json", env=env, failure=HarnessBroken))
            for _ in range(ENROLMENT_CODES)
        ]
        codes = [demo["enrolment_code"] for demo in demos]
        if not all(codes):
            raise HarnessBroken("`fynlo demo --json` gave no enrolment code")
        manager = next(login for login in demos[0]["logins"] if login["role"] == "manager")
        owner = next(login for login in demos[0]["logins"] if login["role"] == "owner")
        server_log = work / "server.log"
        with server_log.open("w") as log:
            server = processes.start([str(BIN / "fynlo"), "serve"], cwd=REPO, env=env, log=log)
        try:
            base = f"http://127.0.0.1:{port}"
            processes.wait_ready(f"{base}/ready", server, server_log, failure=HarnessBroken)
            print(f"swift harness: server ready at {base} in {time.monotonic() - began:.1f}s")
            swift_env = _swift_env(
                FYNLO_SYNC_URL=base,
                FYNLO_SYNC_ENROLMENT_CODES=",".join(codes),
                FYNLO_SYNC_MANAGER_EMAIL=manager["email"],
                FYNLO_SYNC_MANAGER_PASSWORD=manager["password"],
                FYNLO_SYNC_OWNER_EMAIL=owner["email"],
                FYNLO_SYNC_OWNER_PASSWORD=owner["password"],
                # The fake Stripe's own address, for its simulated reader's test helper (the
                # customer tapping a card): FynloPOS's service test.
                FYNLO_FAKE_STRIPE_URL=_fake_stripe_url(server_log),
            )
            exit_code = 0
            for package in packages:
                code = _swift_test(swift, package, swift_env)
                exit_code = exit_code or code
            if server.poll() is not None:
                print(
                    f"the server died during the Swift tests{processes.tail(server_log)}",
                    file=sys.stderr,
                )
                exit_code = exit_code or 1
            elif exit_code:
                print(f"server log, last lines:{processes.tail(server_log)}", file=sys.stderr)
        finally:
            processes.stop(server)
    print(f"swift harness: done in {time.monotonic() - began:.1f}s, exit {exit_code}")
    return exit_code


def _fake_stripe_url(server_log: Path) -> str:
    """Where the server started its fake Stripe (it logs the address as it starts, before
    ``/ready`` answers); empty if it did not say."""
    found = re.search(
        r"Stripe at (http://127\.0\.0\.1:\d+)", server_log.read_text(errors="replace")
    )
    return found.group(1) if found else ""


def _swift_env(**sync: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FYNLO_")}
    env.update(sync)
    return env


def _swift_test(swift: str, package: Path, env: dict[str, str]) -> int:
    print(f"swift test in {package}", flush=True)
    began = time.monotonic()
    process = subprocess.Popen(  # the toolchain's swift, arguments written here
        [swift, "test", "--package-path", str(package)],
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        preexec_fn=processes.die_with_parent,
    )
    try:
        code = process.wait(timeout=SWIFT_SECONDS)
    except subprocess.TimeoutExpired:
        print(f"swift test in {package} took over {SWIFT_SECONDS}s", file=sys.stderr)
        code = 1
    finally:
        processes.stop(process)
    print(f"swift test in {package}: exit {code} after {time.monotonic() - began:.1f}s", flush=True)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
