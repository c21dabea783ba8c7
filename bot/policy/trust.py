"""Graduated trust per action and environment: shadow → approval → automatic, promoted in a file kept in Git."""

from __future__ import annotations

import logging
from datetime import datetime
from enum import StrEnum
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from bot.errors import InvalidInput

log = logging.getLogger(__name__)

TRUST_FILE = Path("policy") / "trust.yaml"


class TrustLevel(StrEnum):
    """How much the bot may do on its own for one action in one environment."""

    SHADOW = "shadow"
    APPROVAL = "approval"
    AUTOMATIC = "automatic"


DEFAULT_LEVEL = TrustLevel.APPROVAL


class Promotion(BaseModel):
    """One recorded change of trust: who, when, on which evidence."""

    model_config = ConfigDict(extra="forbid")

    action: str = Field(min_length=1, description="remediation id, or runbook_id/remediation_id")
    env: str = Field(min_length=1, description="environment, or * for every environment")
    level: TrustLevel
    by: str = Field(min_length=1)
    at: datetime
    evidence_url: str = Field(pattern=r"^https?://\S+$")


_PROMOTIONS = TypeAdapter(list[Promotion])


def trust_path(runbooks_path: Path) -> Path:
    """Where the promotions of a runbook folder live (a sub-folder: the catalog reads top-level YAML as runbooks)."""
    return runbooks_path / TRUST_FILE


def load_promotions(path: Path) -> list[Promotion]:
    """Every promotion in the file (none when it does not exist); raises InvalidInput naming the problem."""
    if not path.exists():
        return []
    try:
        raw = yaml.safe_load(path.read_text()) or []
        return _PROMOTIONS.validate_python(raw)
    except (yaml.YAMLError, ValidationError) as exc:
        raise InvalidInput(f"{path}: invalid trust file: {exc}", fields=["trust"]) from exc


def level_for(promotions: list[Promotion], runbook_id: str, step_id: str, env: str) -> TrustLevel:
    """The latest promotion that names this step (qualified or not) and environment (or *); default approval."""
    names = {step_id, f"{runbook_id}/{step_id}"}
    matching = [p for p in promotions if p.action in names and p.env in (env, "*")]
    if not matching:
        return DEFAULT_LEVEL
    # Exact environment beats *, then the newest wins.
    return max(matching, key=lambda p: (p.env == env, p.at)).level


def append_promotion(path: Path, promotion: Promotion) -> None:
    """Append one promotion to the file, keeping earlier ones (a reviewable diff in a pull request)."""
    existing = load_promotions(path)
    existing.append(promotion)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "# Trust promotions: written by `runbookctl promote`, reviewed in pull requests. See docs/approvals.md.\n"
    body = yaml.safe_dump([p.model_dump(mode="json") for p in existing], sort_keys=False)
    path.write_text(header + body)


class TrustBook:
    """The promotions of one deployment, re-read when the file changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._mtime: float | None = None
        self._promotions: list[Promotion] = []

    def level(self, runbook_id: str, step_id: str, env: str) -> TrustLevel:
        """The trust level of a step in an environment."""
        return level_for(self.promotions(), runbook_id, step_id, env)

    def promotions(self) -> list[Promotion]:
        """The current promotions; a broken file keeps the last good ones (and the default when none)."""
        mtime = self.path.stat().st_mtime if self.path.exists() else None
        if mtime != self._mtime:
            try:
                self._promotions = load_promotions(self.path)
            except InvalidInput as exc:
                log.error("trust file unreadable; keeping the last good promotions", extra={"error": str(exc)})
            self._mtime = mtime
        return self._promotions
