"""runbookctl schema: print the runbook (or access policy) JSON Schema for editors and CI."""

from __future__ import annotations

import argparse
import json
from typing import Any

from bot.cli.base import Command
from bot.policy.access_file import access_json_schema
from bot.policy.roles_file import roles_json_schema
from bot.runbooks.schema import Runbook


def runbook_json_schema() -> dict[str, Any]:
    """The JSON Schema of a runbook file."""
    schema = Runbook.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "runbook-bot runbook", **schema}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Which file's schema."""
    parser.add_argument(
        "kind", nargs="?", choices=["runbook", "access", "roles"], default="runbook", help="default: runbook"
    )


def run(args: argparse.Namespace) -> int:
    """Print the schema."""
    kind = getattr(args, "kind", "runbook")
    schemas = {"access": access_json_schema, "roles": roles_json_schema}
    schema = schemas[kind]() if kind in schemas else runbook_json_schema()
    print(json.dumps(schema, indent=2))
    return 0


COMMAND = Command("schema", "Print the runbook (or `access` policy, or `roles`) JSON Schema.", run, add_arguments)
