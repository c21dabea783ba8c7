"""runbooks/policy/access.yaml: load, lint, its JSON Schema, and a book that re-reads it when it changes."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bot.errors import InvalidInput
from bot.policy.access import DEFAULT_RULES, AccessPolicy
from bot.runbooks.problems import Level, Problem

log = logging.getLogger(__name__)

ACCESS_FILE = Path("policy") / "access.yaml"


def access_path(runbooks_path: Path) -> Path:
    """Where the access policy of a runbook folder lives."""
    return runbooks_path / ACCESS_FILE


def load_access_policy(path: Path) -> AccessPolicy:
    """The policy in the file, or the defaults when it does not exist; raises InvalidInput naming the problem."""
    if not path.exists():
        return AccessPolicy()
    try:
        raw = yaml.safe_load(path.read_text())
        return AccessPolicy.model_validate(raw or {})
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise InvalidInput(f"{path}: invalid access policy: {exc}", fields=["access"]) from exc


def access_json_schema() -> dict[str, Any]:
    """The JSON Schema of access.yaml, for editors and CI."""
    schema = AccessPolicy.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "runbook-bot access policy", **schema}


def check_access_file(path: Path, known_actions: set[str] | None = None) -> list[Problem]:
    """Lint problems of an access file: schema errors, and warnings for rules naming no known action."""
    if not path.exists():
        return []
    try:
        policy = load_access_policy(path)
    except InvalidInput as exc:
        return [Problem(str(path), 1, 1, str(exc), code="access")]
    problems = []
    known = set(DEFAULT_RULES) | (known_actions or set())
    for name in sorted(set(policy.rules) - known):
        message = f"access rule {name!r} names no known action (known: {', '.join(sorted(known))})"
        problems.append(Problem(str(path), 1, 1, message, Level.WARNING, "access"))
    for entry in policy.incident_admins:
        if not (entry.startswith("@") or (entry[:1] in "UWS" and entry[1:].isalnum())):
            message = f"incident_admins entry {entry!r} is not a user id, a user group id or an @handle"
            problems.append(Problem(str(path), 1, 1, message, code="access"))
    return problems


class AccessBook:
    """The deployment's access policy, re-read when the file changes; a broken file keeps the last good one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._mtime: float | None = None
        self._policy = AccessPolicy()
        self._loaded = False

    def policy(self) -> AccessPolicy:
        """The current policy (the defaults when the file is absent)."""
        mtime = self.path.stat().st_mtime if self.path.exists() else None
        if mtime != self._mtime or not self._loaded:
            try:
                self._policy = load_access_policy(self.path)
            except InvalidInput as exc:
                log.error("access policy unreadable; keeping the last good one", extra={"error": str(exc)})
            self._mtime, self._loaded = mtime, True
        return self._policy
