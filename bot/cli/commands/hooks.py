"""runbookctl hooks: every registered hook with its kind, version, help and config fields."""

from __future__ import annotations

import argparse
import json
from typing import Any

from bot.cli.base import Command
from hooks.registry import hook_names, hook_summary, load_hooks


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    parser.add_argument("--kind", choices=("diagnostic", "action"), help="only hooks of this kind")


def _field_line(field: dict[str, Any]) -> str:
    tail = "required" if field["required"] else f"default {json.dumps(field['default'], default=str)}"
    text = f"    {field['name']}: {field['type']} ({tail})"
    return text + (f" - {field['help']}" if field["help"] else "")


def render_text(summaries: list[dict[str, Any]]) -> str:
    """Human-readable listing: one block per hook."""
    blocks = []
    for hook in summaries:
        head = f"{hook['name']}  [{hook['kind']} v{hook['version']}]"
        if hook["deprecated"]:
            head += f"  DEPRECATED -> {hook['replacement']}"
        blocks.append("\n".join([head, f"  {hook['help']}", *(_field_line(f) for f in hook["fields"])]))
    return "\n\n".join(blocks)


def list_hooks(args: argparse.Namespace) -> int:
    """Print the registry."""
    registry = load_hooks()
    summaries = [hook_summary(registry[name]) for name in hook_names()]
    if args.kind:
        summaries = [s for s in summaries if s["kind"] == args.kind]
    if args.format == "json":
        print(json.dumps(summaries, indent=2, default=str))
    else:
        print(render_text(summaries))
    return 0


COMMAND = Command(
    name="hooks",
    help="List diagnostic and action hooks with their config fields.",
    run=list_hooks,
    add_arguments=_add_arguments,
)
