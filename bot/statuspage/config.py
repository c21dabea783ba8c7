"""Load and lint runbooks/policy/statuspage.yaml."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from bot.errors import InvalidInput
from bot.runbooks.problems import Problem
from bot.statuspage.models import StatusPageConfig

STATUSPAGE_FILE = Path("policy") / "statuspage.yaml"


def statuspage_path(runbooks_path: Path) -> Path:
    """Where the status-page config of a runbook folder lives."""
    return runbooks_path / STATUSPAGE_FILE


def load_statuspage_config(path: Path) -> StatusPageConfig:
    """The config in the file (defaults when it does not exist); raises InvalidInput naming every problem."""
    if not path.exists():
        return StatusPageConfig()
    try:
        config = StatusPageConfig.model_validate(yaml.safe_load(path.read_text()) or {})
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise InvalidInput(f"{path}: invalid status-page config: {exc}", fields=["statuspage"]) from exc
    problems = config.problems()
    if problems:
        raise InvalidInput(f"{path}: " + "; ".join(problems), fields=["statuspage"])
    return config


def check_statuspage_file(path: Path) -> list[Problem]:
    """Lint problems of the file (none when it does not exist)."""
    if not path.exists():
        return []
    try:
        load_statuspage_config(path)
    except InvalidInput as exc:
        return [Problem(str(path), 1, 1, exc.message, code="statuspage")]
    return []
