"""deploy/ and docs/operations.md agree with the code, as far as can be checked without a
container runtime or systemd (neither runs here): the compose file parses and has the parts
the doc promises, every ``FYNLO_*`` name is a real setting, every ``fynlo`` command they run
exists with the options they give it, a server is given longer to stop than its shutdown
grace, and ``pip install .`` (the Containerfile's) ships every file the server reads."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import click
import pytest
import yaml  # PyYAML comes with uvicorn[standard], a dependency of the server

from server.cli.main import cli
from server.settings import _NOT_SETTINGS, Settings

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
OPERATIONS = REPO / "docs" / "operations.md"
CONTAINERFILE = DEPLOY / "Containerfile"
COMPOSE = DEPLOY / "compose.yaml"
UNIT = DEPLOY / "fynlo.service"
ENV_EXAMPLE = DEPLOY / "fynlo.env.example"
DEPLOY_FILES = (CONTAINERFILE, COMPOSE, UNIT, ENV_EXAMPLE)

SETTINGS = {f"FYNLO_{name.upper()}" for name in Settings.__struct_fields__} | _NOT_SETTINGS


def compose() -> dict[str, object]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def services() -> dict[str, dict[str, object]]:
    found = compose()["services"]
    assert isinstance(found, dict)
    return found


def unit_service_section() -> dict[str, list[str]]:
    """``[Service]`` of the unit, each key with every value it is given (keys may repeat)."""
    section: dict[str, list[str]] = {}
    current = None
    for line in UNIT.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = line
            continue
        if current == "[Service]":
            key, _, value = line.partition("=")
            section.setdefault(key, []).append(value)
    return section


def systemd_seconds(value: str) -> float:
    """``30``, ``30s``, ``2min`` or ``1min 30s`` in seconds (systemd.time(7), the units used)."""
    units = {"": 1, "s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600}
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", value)
    assert parts, value
    return sum(float(number) * units[unit] for number, unit in parts)


def compose_seconds(value: str) -> float:
    """A compose duration (``30s``, ``1m30s``) in seconds."""
    units = {"s": 1, "m": 60, "h": 3600}
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|m|s)", value)
    assert parts and "".join(n + u for n, u in parts) == value, value
    return sum(float(number) * units[unit] for number, unit in parts)


def shutdown_grace() -> float:
    """The grace a server gets when stopped: the example settings' value, else the default."""
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.startswith("FYNLO_SHUTDOWN_GRACE_SECONDS="):
            return float(line.partition("=")[2])
    return float(Settings().shutdown_grace_seconds)


# Commands -------------------------------------------------------------------------------

# A word of a command line as the doc writes it; anything else (a placeholder like COMMAND or
# <date>, alternatives a|b, [optional] parts, an ellipsis) ends what can be checked.
_WORD = re.compile(r"^(--?[a-z][a-z0-9-]*(=\S+)?|[a-z0-9][A-Za-z0-9:._/+-]*)$")


def check_command(words: list[str]) -> list[str]:
    """What is wrong with ``fynlo <words>``: an unknown subcommand or option (empty: fine).
    After a group the next word must be one of its commands; after a command, words that are
    not options are its arguments or option values, which are not checked."""
    command: click.Command = cli
    path = ["fynlo"]
    problems = []
    for word in words:
        if not _WORD.match(word):
            break
        if word.startswith("-"):
            name = word.split("=", 1)[0]
            known = {"-h", "--help"} | {opt for param in command.params for opt in param.opts}
            if name not in known:
                problems.append(f"`{' '.join(path)}` has no option {name}")
        elif isinstance(command, click.Group):
            sub = command.commands.get(word)
            if sub is None:
                problems.append(f"`{' '.join(path)}` has no command {word!r}")
                break
            command = sub
            path.append(word)
    return problems


def documented_commands() -> list[list[str]]:
    """Every ``fynlo …`` in operations.md: inline code and lines of code blocks."""
    text = OPERATIONS.read_text()
    commands = [span.split()[1:] for span in re.findall(r"`(fynlo [^`\n]+)`", text)]
    in_block = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_block = not in_block
        elif in_block and line.startswith("fynlo "):
            commands.append(line.split("#", 1)[0].split()[1:])
    return commands


def deployed_commands() -> dict[str, list[str]]:
    """What each deploy file runs, as the words after ``fynlo``."""
    runs: dict[str, list[str]] = {}
    entrypoint = re.search(r"^ENTRYPOINT (\[.*\])$", CONTAINERFILE.read_text(), re.M)
    command = re.search(r"^CMD (\[.*\])$", CONTAINERFILE.read_text(), re.M)
    assert entrypoint and command, "the Containerfile names its entry point and command"
    assert yaml.safe_load(entrypoint.group(1)) == ["fynlo"]
    runs["Containerfile CMD"] = yaml.safe_load(command.group(1))
    for name, service in services().items():
        if str(service.get("image", "")).startswith("fynlo"):
            assert isinstance(service["command"], list), name
            runs[f"compose {name}"] = service["command"]
    section = unit_service_section()
    for key in ("ExecStartPre", "ExecStart"):
        for value in section[key]:
            program, *words = value.lstrip("-+!@:").split()
            assert program.endswith("/fynlo"), value
            runs[f"fynlo.service {key}"] = words
    return runs


# Tests ----------------------------------------------------------------------------------


def test_the_compose_file_has_what_the_doc_promises() -> None:
    found = services()
    assert found["postgres"]["image"] == "postgres:15"
    assert found["redis"]["image"] == "redis:7"
    assert found["migrate"]["command"] == ["db", "migrate"]
    servers = [name for name, s in found.items() if s.get("command") == ["serve"]]
    assert len(servers) == 2, servers
    for name in servers:
        after = found[name]["depends_on"]
        assert isinstance(after, dict)
        assert after["migrate"] == {"condition": "service_completed_successfully"}, name
        environment = found[name]["environment"]
        assert isinstance(environment, dict)
        assert environment["FYNLO_REDIS_URL"].startswith("redis://"), "two servers need Redis"


def test_every_fynlo_variable_is_a_real_setting() -> None:
    unknown = {}
    for path in (*DEPLOY_FILES, OPERATIONS):
        for name in set(re.findall(r"FYNLO_[A-Z0-9_]+", path.read_text())):
            if name.endswith("_"):  # a family, as in FYNLO_OPEN_BANKING_*
                real = any(setting.startswith(name) for setting in SETTINGS)
            else:
                real = name in SETTINGS
            if not real:
                unknown.setdefault(path.name, set()).add(name)
    assert unknown == {}, "not settings in server/settings.py (docs/configuration.md)"


def test_every_command_they_run_exists() -> None:
    runs = deployed_commands()
    assert runs["fynlo.service ExecStartPre"] == ["db", "migrate"]
    assert runs["fynlo.service ExecStart"][0] == "serve"
    problems = {where: check_command(words) for where, words in runs.items()}
    assert {where: found for where, found in problems.items() if found} == {}


def test_every_command_the_doc_shows_exists() -> None:
    commands = documented_commands()
    assert any(words[:2] == ["serve", "--workers"] for words in commands)
    problems = [found for words in commands for found in check_command(words)]
    assert problems == []


def test_the_command_check_can_fail() -> None:
    assert check_command(["serve"]) == []
    assert check_command(["serve", "--wrkers", "2"]) == ["`fynlo serve` has no option --wrkers"]
    assert check_command(["db", "migrat"]) == ["`fynlo db` has no command 'migrat'"]
    assert check_command(["COMMAND", "--help"]) == []  # a placeholder is not checked


def test_servers_are_given_longer_to_stop_than_their_grace() -> None:
    grace = shutdown_grace()
    section = unit_service_section()
    assert section["KillSignal"] == ["SIGTERM"]
    assert systemd_seconds(section["TimeoutStopSec"][-1]) > grace
    for name, service in services().items():
        if service.get("command") == ["serve"]:
            assert compose_seconds(str(service["stop_grace_period"])) > grace, name
    assert "STOPSIGNAL SIGTERM" in CONTAINERFILE.read_text()


def test_the_unit_restarts_on_failure_and_reads_its_settings_file() -> None:
    section = unit_service_section()
    assert section["Restart"] == ["on-failure"]
    assert section["EnvironmentFile"] == ["/etc/fynlo/fynlo.env"]
    assert section["User"] != ["root"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    # Point the unit at this checkout's fynlo, since /opt/fynlo is not installed here.
    fynlo = Path(sys.executable).parent / "fynlo"
    unit = tmp_path / "fynlo.service"
    unit.write_text(UNIT.read_text().replace("/opt/fynlo/bin/fynlo", str(fynlo)))
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # An unknown key is only a warning (exit 0): any output at all is a finding.
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_pip_install_ships_every_file_the_server_reads() -> None:
    """The Containerfile installs with ``pip install .``, not from the checkout: a file
    outside the package data (say the back office's script) would be missing in the image."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["*"]
    missing = [
        str(path.relative_to(REPO))
        for path in (REPO / "server").rglob("*")
        if path.is_file()
        and path.suffix not in {".py", ".pyc"}
        and "__pycache__" not in path.parts
        and not any(fnmatch(path.name, pattern) for pattern in patterns)
    ]
    assert missing == [], "add their patterns to [tool.setuptools.package-data]"


def test_the_docs_links_lead_somewhere() -> None:
    """Every ``#anchor`` operations.md links to, in itself or another doc, is a heading."""

    def anchors(path: Path) -> set[str]:
        headings = re.findall(r"^#+ (.+)$", path.read_text(), re.M)
        return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}

    broken = []
    for target, anchor in re.findall(r"\]\(([\w./-]*)#([\w-]+)\)", OPERATIONS.read_text()):
        document = OPERATIONS.parent / target if target else OPERATIONS
        if not document.exists() or anchor not in anchors(document):
            broken.append(f"{target}#{anchor}")
    assert broken == []
