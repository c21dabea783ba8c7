"""runbookctl schema: print the runbook JSON Schema for editors and CI."""

from __future__ import annotations

import argparse
import json
from typing import Any

from bot.cli.base import Command
from bot.runbooks.schema import Runbook


def runbook_json_schema() -> dict[str, Any]:
    """The JSON Schema of a runbook file."""
    schema = Runbook.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "runbook-bot runbook", **schema}


def run(args: argparse.Namespace) -> int:
    """Print the schema."""
    print(json.dumps(runbook_json_schema(), indent=2))
    return 0


COMMAND = Command("schema", "Print the runbook JSON Schema.", run)
