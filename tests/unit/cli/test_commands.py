"""The ``fynlo`` command tree: every command and option keeps its name and has help."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest

from server.cli.main import cli, main

# Every command and option the scripts, tests, Makefile and docs call (argparse's, kept).
EXPECTED = {
    "fynlo": set(),
    "fynlo dev": set(),
    "fynlo serve": {"--workers"},
    "fynlo db": set(),
    "fynlo db migrate": set(),
    "fynlo db status": set(),
    "fynlo demo": {"--json", "--load", "--order"},
    "fynlo keys": {"--file"},
    "fynlo keys add-next": set(),
    "fynlo keys promote": set(),
    "fynlo keys retire": {"--force", "kids"},
    "fynlo keys list": {"--json"},
    "fynlo sync": set(),
    "fynlo sync gc": set(),
    "fynlo reconcile": {"--since", "--until", "--restaurant", "--json", "--format"},
    "fynlo payments": set(),
    "fynlo payments sweep": set(),
}


def walk(command: click.Command, path: str = "fynlo") -> Iterator[tuple[str, click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from walk(sub, f"{path} {name}")


def parameters(command: click.Command) -> set[str]:
    names = set()
    for param in command.params:
        if isinstance(param, click.Option):
            if "--help" not in param.opts:
                names.add(max(param.opts, key=len))
        else:
            names.add(str(param.name))
    return names


def test_every_command_and_option_is_still_there_under_its_name() -> None:
    assert {path: parameters(command) for path, command in walk(cli)} == EXPECTED


@pytest.mark.parametrize(("path", "command"), list(walk(cli)), ids=lambda x: str(x))
def test_every_command_and_option_has_help(
    path: str, command: click.Command, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (command.help or "").strip(), f"{path} has no help"
    assert command.get_short_help_str(limit=80).strip(), f"{path} has no short help"
    for param in command.params:
        if isinstance(param, click.Option):
            assert (param.help or "").strip(), f"{path} {param.opts} has no help"
        else:  # click arguments take no help: the command's own text must explain them
            assert param.human_readable_name.rstrip(".").strip("[]") in (command.help or ""), (
                f"{path}'s help does not explain {param.human_readable_name}"
            )

    words = path.split()[1:]
    assert main([*words, "--help"]) == 0
    shown = capsys.readouterr().out
    assert shown.startswith(f"Usage: {path} ")
    for param in command.params:
        if isinstance(param, click.Option) and "--help" not in param.opts:
            assert (param.help or "").split()[0] in shown, (path, param.opts)


def test_no_command_or_an_unknown_one_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["payroll"]) == 2
    assert "No such command 'payroll'" in capsys.readouterr().err
    assert main(["keys", "rotate"]) == 2
