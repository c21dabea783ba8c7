"""runbookctl: every subcommand is a module in `bot.cli.commands` exposing COMMAND."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from bot.cli.base import Command
from bot.errors import BotError


def discover_commands() -> dict[str, Command]:
    """Import every module under bot.cli.commands and collect its COMMAND."""
    from bot.cli import commands

    found: dict[str, Command] = {}
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        command = getattr(module, "COMMAND", None)
        if isinstance(command, Command):
            found[command.name] = command
    return found


def build_parser(registry: dict[str, Command]) -> argparse.ArgumentParser:
    """The argument parser with one subparser per registered command."""
    parser = argparse.ArgumentParser(prog="runbookctl", description="runbook-bot: incident response from Slack.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, command in registry.items():
        child = sub.add_parser(name, help=command.help, description=command.help)
        command.add_arguments(child)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the runbookctl console script; returns the exit code."""
    registry = discover_commands()
    args = build_parser(registry).parse_args(argv)
    try:
        return registry[args.command].run(args)
    except BotError as exc:
        print(f"runbookctl {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
