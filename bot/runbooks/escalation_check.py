"""Lint the escalation side: runbooks naming a policy that exists, and the policy files themselves."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.errors import RunbookError
from bot.escalation.loader import POLICIES_FILE, load_escalation
from bot.runbooks.loader import LoadedRunbook
from bot.runbooks.problems import Level, Problem

ESCALATION_DIR = "escalation"


def policy_names(folder: Path) -> set[str] | None:
    """Names of the policies in `folder`, or None when it has no policies file."""
    path = folder / POLICIES_FILE
    if not path.exists():
        return None
    data = yaml.safe_load(path.read_text()) or {}
    return set((data.get("policies") or {}).keys()) if isinstance(data, dict) else set()


def check_escalation_reference(loaded: LoadedRunbook) -> list[Problem]:
    """A runbook's `escalation:` must name a policy in the escalation folder beside it."""
    name = loaded.runbook.escalation
    if not name:
        return []
    folder = Path(loaded.file).parent / ESCALATION_DIR
    line, column = loaded.positions.at(("escalation",))
    try:
        names = policy_names(folder)
    except yaml.YAMLError as exc:
        return [Problem(loaded.file, line, column, f"cannot read {folder / POLICIES_FILE}: {exc}", code="escalation")]
    if names is None:
        message = f"escalation policy {name!r} named, but {folder / POLICIES_FILE} does not exist"
        return [Problem(loaded.file, line, column, message, Level.WARNING, "escalation")]
    if name not in names:
        known = ", ".join(sorted(names)) or "none"
        message = f"unknown escalation policy {name!r} (known: {known})"
        return [Problem(loaded.file, line, column, message, code="escalation")]
    return []


def check_escalation_folder(folder: Path) -> list[Problem]:
    """Load the folder's policies and schedules; every problem they raise, at the file that has it."""
    if not (folder / POLICIES_FILE).exists():
        return []
    try:
        load_escalation(folder)
    except RunbookError as exc:
        return [Problem(str(folder / POLICIES_FILE), 1, 1, str(exc), code="escalation")]
    return []
