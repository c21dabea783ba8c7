"""Every registry can be listed, and every entry in it is complete: runbookctl commands and /incident."""

from __future__ import annotations

import inspect

import pytest

from bot.cli import build_parser, discover_commands, main
from bot.slack import approval_listeners, incident_commands  # noqa: F401  (register their subcommands)
from bot.slack.commands import REGISTRY, help_text, parse, subcommand

EXPECTED_COMMANDS = {
    "audit",
    "deadletters",
    "followups",
    "drill",
    "hooks",
    "lint",
    "postmortem",
    "promote",
    "report",
    "sandbox",
    "schema",
    "serve",
    "simulate",
}


def test_every_runbookctl_command_is_discovered_with_one_line_help() -> None:
    commands = discover_commands()
    assert set(commands) == EXPECTED_COMMANDS
    for name, command in commands.items():
        assert command.name == name
        assert command.help and "\n" not in command.help and command.help[0].isupper() and command.help.endswith(".")


@pytest.mark.parametrize("name", sorted(EXPECTED_COMMANDS))
def test_every_command_parses_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser(discover_commands())
    with pytest.raises(SystemExit) as exit_info:
        parser.parse_args([name, "--help"])
    assert exit_info.value.code == 0
    assert name in capsys.readouterr().out


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["no-such-command"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_every_incident_subcommand_is_complete_and_in_the_help() -> None:
    assert {"help", "new", "ack", "resolve", "pause", "resume", "request", "list", "postmortem"} <= set(REGISTRY)
    text = help_text()
    for name, command in REGISTRY.items():
        assert inspect.iscoroutinefunction(command.handler)
        assert command.usage.split()[0] == name and command.help
        assert f"/incident {command.usage}" in text


def test_registering_a_plain_function_or_a_duplicate_is_refused() -> None:
    with pytest.raises(TypeError, match="coroutine"):
        subcommand("sync-thing", "sync-thing", "x")(lambda ctx: "no")  # type: ignore[arg-type,return-value]
    with pytest.raises(ValueError, match="twice"):

        @subcommand("help", "help", "again")
        async def again(ctx: object) -> str:
            return ""


def test_parse_splits_args_and_flags() -> None:
    assert parse('new "disk full" --severity P1 --service db') == (
        "new",
        ["disk full"],
        {"severity": "P1", "service": "db"},
    )
    assert parse("") == ("help", [], {})
