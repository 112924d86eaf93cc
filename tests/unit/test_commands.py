"""Who offers which command: the operator's only what a cluster runs, the development ones fargate-devenv."""

from __future__ import annotations

import pytest

from fargate_devenv import cli as devenv_cli
from fargate_operator import cli


def _subcommands(main: object, capsys: pytest.CaptureFixture[str]) -> set[str]:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])  # type: ignore[operator]
    assert exited.value.code == 0
    usage = capsys.readouterr().out.split("\n\n", 1)[0]  # "usage: prog [-h] {a,b} ...", wrapped when long
    return set(usage.split("{", 1)[1].split("}", 1)[0].split(","))


def test_the_operator_command_offers_only_what_a_cluster_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert _subcommands(cli.main, capsys) == {"run"}


def test_the_development_commands_are_fargate_devenvs(capsys: pytest.CaptureFixture[str]) -> None:
    assert _subcommands(devenv_cli.main, capsys) == {"run", "node", "assets", "codegen", "release-local", "ssm-plugin"}


@pytest.mark.parametrize("command", ["dev", "assets", "codegen"])
def test_the_operator_command_refuses_development_subcommands(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main([command])
    assert exited.value.code == 2 and "invalid choice" in capsys.readouterr().err
