"""The set-up script finds each missing piece, installs nothing without root, and the tests
that need an optional piece skip in one line only when the user left it out."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "system-packages"
NOTHING = {"FYNLO_SYSTEM_ROOT": "/nonexistent", "PYTHON": "/nonexistent/python3"}


def table() -> dict[str, str]:
    """Every package the script knows, with the profile that needs it (from its own table)."""
    rows = re.search(r'PACKAGES="\n(.*?)"', SCRIPT.read_text(), re.S)
    assert rows is not None
    return {line.split()[0]: line.split()[1] for line in rows.group(1).splitlines() if line}


def script(*args: str, user: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k != "FYNLO_TEST_WITHOUT"}
    command = [str(SCRIPT), *args]
    if user is not None and os.geteuid() == 0:
        command = ["runuser", "-u", user, "--", *command]
    return subprocess.run(
        command, env={**clean, **env}, capture_output=True, text=True, timeout=30, check=False
    )


def reported(result: subprocess.CompletedProcess[str]) -> set[str]:
    line = next(x for x in result.stdout.splitlines() if x.startswith("System packages missing"))
    return set(line.split(": ", 1)[1].split())


def test_a_machine_with_nothing_misses_every_package() -> None:
    for profile in ("run", "test"):
        result = script(profile, "--check", **NOTHING)
        assert result.returncode == 1, result
        wanted = {name for name, needed_by in table().items() if profile in (needed_by, "test")}
        assert reported(result) == wanted | {"python3-venv"}
    assert "swift.org" in script("test", "--check", **NOTHING).stderr
    assert "swift" not in script("run", "--check", **NOTHING).stderr


def test_this_machine_has_everything_make_test_installed() -> None:
    # `make test` ran scripts/system-packages test before pytest; FYNLO_TEST_WITHOUT may
    # have left optional pieces out, so it is passed on here.
    without = os.environ.get("FYNLO_TEST_WITHOUT", "")
    result = script("test", "--check", FYNLO_TEST_WITHOUT=without, PYTHON=sys.executable)
    assert result.returncode == 0, result.stdout
    said = result.stdout.splitlines()[-1]
    assert said.startswith("System packages for `make test`: all present (postgresql "), said
    if not without:
        assert "redis-server chromium libsqlite3-dev" in said, said


def test_left_out_pieces_are_not_asked_for() -> None:
    result = script("test", "--check", FYNLO_TEST_WITHOUT="redis,chromium,swift", **NOTHING)
    assert not {"redis-server", "chromium", "libsqlite3-dev"} & reported(result)
    assert "git" in reported(result)
    assert "swift.org" not in result.stderr
    assert "left out (FYNLO_TEST_WITHOUT): redis-server chromium libsqlite3-dev" in result.stdout


def test_without_root_it_stops_at_once_with_the_exact_command() -> None:
    result = script("test", user="nobody", **NOTHING)
    assert result.returncode == 1
    command = "apt-get update && apt-get install -y --no-install-recommends"
    assert f"  sudo sh -c '{command} postgresql " in result.stderr
    assert "Installing:" not in result.stdout


def test_skips_fold_into_one_line_and_only_when_left_out(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_needs_redis.py").write_text(
        "import pytest\nfrom tests.optional import require\n\n"
        "@pytest.mark.parametrize('n', range(3))\n"
        "def test_needs_redis(n):\n    require('redis')\n"
    )
    # A PATH with Python but no redis-server stands for a machine without it.
    env = {**os.environ, "PYTHONPATH": str(REPO), "PATH": str(Path(sys.executable).parent)}

    def pytest_run(without: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-ra", "-p", "no:cacheprovider", str(tmp_path)],
            env={**env, "FYNLO_TEST_WITHOUT": without},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return result.stdout

    skipped = pytest_run("redis")
    lines = [x for x in skipped.splitlines() if x.startswith("SKIPPED")]
    assert len(lines) == 1, skipped
    assert "[3]" in lines[0] and "FYNLO_TEST_WITHOUT" in lines[0]
    failed = pytest_run("")
    assert "3 failed" in failed and "set FYNLO_TEST_WITHOUT=redis" in failed, failed


def test_an_install_that_did_not_take_fails(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        return  # only root installs; the non-root path is the test above
    apt_get = tmp_path / "apt-get"
    apt_get.write_text('#!/bin/sh\necho "$@" >> "$(dirname "$0")/calls"\n')
    apt_get.chmod(0o755)
    result = script("run", FYNLO_APT_GET=str(apt_get), **NOTHING)
    assert result.returncode == 1, result
    assert "Still missing after installing postgresql" in result.stderr
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls[0] == "update -qq" and calls[1].startswith("install -y -qq")


def test_a_failing_apt_get_update_still_installs(tmp_path: Path) -> None:
    """One unreachable source fails `apt-get update` as a whole; Debian's lists may still be
    there, so the install is tried, and the check after it decides."""
    if os.geteuid() != 0:
        return  # only root installs; the non-root path is tested apart
    apt_get = tmp_path / "apt-get"
    calls = tmp_path / "calls"
    apt_get.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n[ "$1" != update ]\n')
    apt_get.chmod(0o755)
    result = script("run", FYNLO_APT_GET=str(apt_get), **NOTHING)
    assert "apt-get update reported errors" in result.stderr, result
    assert calls.read_text().splitlines()[1].startswith("install -y -qq"), calls.read_text()
    assert result.returncode == 1  # the stand-in installed nothing: still not a pass


def test_with_sudo_a_non_root_user_installs_through_it() -> None:
    """`.ci/run` passes --sudo: a CI runner that is not root installs through sudo -n."""
    folder = Path(tempfile.mkdtemp(prefix="fynlo-sudo-"))
    try:
        folder.chmod(0o755)  # readable by the unprivileged user below
        log = folder / "calls"
        log.touch()
        log.chmod(0o666)
        for name, body in {
            "sudo": f'echo "sudo $*" >> {log}\nshift\nexec "$@"',
            "apt-get": f'echo "apt-get $*" >> {log}',
        }.items():
            (folder / name).write_text(f"#!/bin/sh\n{body}\n")
            (folder / name).chmod(0o755)
        path = f"{folder}:{os.environ['PATH']}"
        without = script("run", user="nobody", PATH=path, FYNLO_APT_GET="apt-get", **NOTHING)
        assert "Installing them needs root" in without.stderr and not log.read_text()
        with_sudo = script("run", "--sudo", user="nobody", PATH=path, **NOTHING)
        calls = log.read_text().splitlines()
        assert calls[0].startswith("sudo -n env DEBIAN_FRONTEND=noninteractive apt-get update")
        assert any(call.startswith("apt-get install -y -qq") for call in calls)
        assert with_sudo.returncode == 1  # the stand-in installed nothing: not a pass
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert script("test", "--bogus").returncode == 2
