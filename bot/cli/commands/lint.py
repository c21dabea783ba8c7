"""runbookctl lint: schema and semantic problems of runbook files, with file:line:column."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bot.cli.base import Command
from bot.runbooks.lint import lint_paths
from bot.runbooks.problems import Level, Problem


def _escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def format_problems(problems: list[Problem], style: str) -> str:
    """Problems as text lines, one JSON document, or GitHub Actions annotations."""
    if style == "json":
        return json.dumps([{**p.__dict__, "level": p.level.value} for p in problems], indent=2)
    if style == "github":
        return "\n".join(
            f"::{p.level.value} file={p.file},line={p.line},col={p.column},title=runbook {p.code}::{_escape(p.message)}"
            for p in problems
        )
    return "\n".join(str(p) for p in problems)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Paths and the output format."""
    parser.add_argument("paths", nargs="*", type=Path, default=[Path("runbooks")], help="files or folders")
    parser.add_argument("--format", choices=["text", "json", "github"], default="text")
    parser.add_argument("--strict", action="store_true", help="treat warnings as errors")


def run(args: argparse.Namespace) -> int:
    """Lint; exit 1 when any error (or, with --strict, any warning) is found."""
    problems = lint_paths(args.paths)
    output = format_problems(problems, args.format)
    if output:
        print(output)
    errors = sum(p.level is Level.ERROR for p in problems)
    if args.format == "text":
        print(f"{errors} error(s), {len(problems) - errors} warning(s)", file=sys.stderr)
    return 1 if errors or (args.strict and problems) else 0


COMMAND = Command("lint", "Check runbooks: schema, CEL, steps, hooks and safety.", run, add_arguments)
