"""runbooks/policy/roles.yaml: the incident roles, their instructions, lint, JSON Schema and a re-reading book."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bot.errors import InvalidInput
from bot.runbooks.problems import Problem

log = logging.getLogger(__name__)

ROLES_FILE = Path("policy") / "roles.yaml"
COMMANDER = "commander"
ROLE_NAME = r"^[a-z][a-z0-9-]{0,30}$"


class RoleDef(BaseModel):
    """One incident role: its name (as typed in `/incident role`), a label and what its holder should do."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=ROLE_NAME, description="lower-case name used in `/incident role <name> @user`")
    label: str = Field(default="", max_length=40, description="shown on the header and the claim button")
    instructions: str = Field(default="", max_length=2500, description="sent by DM to whoever takes the role")

    @property
    def title(self) -> str:
        """The label, else the name with a capital."""
        return self.label or self.name.replace("-", " ").capitalize()


DEFAULT_ROLES: tuple[RoleDef, ...] = (
    RoleDef(
        name=COMMANDER,
        label="Commander",
        instructions=(
            "You lead this incident: decide, delegate and keep everyone on one plan. "
            "Approve or refuse the offered steps, hand off with `/incident commander @someone`, "
            "and resolve when the impact is over."
        ),
    ),
    RoleDef(
        name="communications",
        label="Communications",
        instructions=(
            "You keep stakeholders informed: post `/incident update <status>: <text> --publish` "
            "at least every 30 minutes and answer questions outside the incident channel."
        ),
    ),
    RoleDef(
        name="scribe",
        label="Scribe",
        instructions=(
            "You keep the record: pin decisions and findings with a :pushpin: reaction and add "
            "`/incident note <text>` for what happens outside Slack, so the post-mortem needs no reconstruction."
        ),
    ),
)


class RolesConfig(BaseModel):
    """The contents of roles.yaml; `commander` is always a role (the defaults' when the file leaves it out)."""

    model_config = ConfigDict(extra="forbid")

    roles: list[RoleDef] = Field(default_factory=lambda: list(DEFAULT_ROLES), min_length=1, max_length=10)

    @model_validator(mode="after")
    def _unique_and_commander(self) -> RolesConfig:
        names = [r.name for r in self.roles]
        doubled = sorted({n for n in names if names.count(n) > 1})
        if doubled:
            raise ValueError(f"role names must be unique: {', '.join(doubled)} named more than once")
        if COMMANDER not in names:
            self.roles.insert(0, DEFAULT_ROLES[0])
        return self

    def get(self, name: str) -> RoleDef | None:
        """The role called `name` (case-insensitive), if configured."""
        wanted = name.strip().lower()
        return next((r for r in self.roles if r.name == wanted), None)

    def names(self) -> list[str]:
        """The role names, in the file's order."""
        return [r.name for r in self.roles]


def roles_path(runbooks_path: Path) -> Path:
    """Where the roles of a runbook folder live."""
    return runbooks_path / ROLES_FILE


def load_roles_config(path: Path) -> RolesConfig:
    """The roles in the file, or the defaults when it does not exist; raises InvalidInput naming the problem."""
    if not path.exists():
        return RolesConfig()
    try:
        raw = yaml.safe_load(path.read_text())
        return RolesConfig.model_validate(raw or {})
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise InvalidInput(f"{path}: invalid roles: {exc}", fields=["roles"]) from exc


def roles_json_schema() -> dict[str, Any]:
    """The JSON Schema of roles.yaml, for editors and CI."""
    schema = RolesConfig.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema, "title": "runbook-bot incident roles"}


def check_roles_file(path: Path) -> list[Problem]:
    """Lint problems of a roles file (schema errors, doubled names)."""
    if not path.exists():
        return []
    try:
        load_roles_config(path)
    except InvalidInput as exc:
        return [Problem(str(path), 1, 1, str(exc), code="roles")]
    return []


class RoleBook:
    """The deployment's roles, re-read when the file changes; a broken file keeps the last good roles."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._mtime: float | None = None
        self._config = RolesConfig()
        self._loaded = False

    def config(self) -> RolesConfig:
        """The current roles (the defaults when the file is absent)."""
        mtime = self.path.stat().st_mtime if self.path.exists() else None
        if mtime != self._mtime or not self._loaded:
            try:
                self._config = load_roles_config(self.path)
            except InvalidInput as exc:
                log.error("roles file unreadable; keeping the last good roles", extra={"error": str(exc)})
            self._mtime, self._loaded = mtime, True
        return self._config
