"""Load policies.yaml, schedules.yaml and the ICS files they name, and check they refer to each other."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from bot.errors import RunbookError
from bot.escalation.ics import ics_layer
from bot.escalation.policy import Policy, PolicyBook
from bot.escalation.schedule import Schedule, ScheduleConfig, SchedulesFile, ShiftList, ShiftSource, zone

M = TypeVar("M", bound=BaseModel)

POLICIES_FILE = "policies.yaml"
SCHEDULES_FILE = "schedules.yaml"


@dataclass(frozen=True)
class EscalationConfig:
    """Policies and schedules, loaded together and cross-checked."""

    book: PolicyBook
    schedules: dict[str, Schedule]

    def policy_for(self, service: str) -> Policy:
        """The service's policy, else the default."""
        return self.book.policy_for(service)


def load_escalation(folder: Path) -> EscalationConfig:
    """Load `folder`/policies.yaml and `folder`/schedules.yaml (optional); raises RunbookError."""
    book = _read(folder / POLICIES_FILE, PolicyBook)
    schedules_path = folder / SCHEDULES_FILE
    schedules = load_schedules(schedules_path) if schedules_path.exists() else {}
    missing = sorted(book.schedule_names() - set(schedules))
    if missing:
        raise RunbookError(f"{folder / POLICIES_FILE}: unknown schedules {missing}", fields=missing)
    return EscalationConfig(book, schedules)


def load_policies(path: Path) -> PolicyBook:
    """Load one policies file."""
    return _read(path, PolicyBook)


def load_schedules(path: Path) -> dict[str, Schedule]:
    """Load one schedules file and the ICS files its layers name (relative to it)."""
    parsed = _read(path, SchedulesFile)
    return {name: build_schedule(name, cfg, path.parent) for name, cfg in parsed.schedules.items()}


def build_schedule(name: str, cfg: ScheduleConfig, base: Path) -> Schedule:
    """The runtime schedule from its configuration."""
    tz = zone(cfg.timezone)
    layers: list[ShiftSource] = []
    for layer in cfg.layers:
        if layer.rotation is not None:
            layers.append(layer.rotation.build(layer.name, cfg.timezone))
        elif layer.ics is not None:
            ics_path = base / layer.ics
            try:
                text = ics_path.read_bytes()
            except OSError as exc:
                raise RunbookError(f"schedule {name!r}: cannot read {ics_path}: {exc}") from exc
            layers.append(ics_layer(layer.name, text, tz, layer.people))
    overrides = ShiftList("overrides", tuple(o.build() for o in cfg.overrides))
    return Schedule(name, tz, tuple(layers), overrides)


def _read(path: Path, model: type[M]) -> M:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise RunbookError(f"{path}: {exc}") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = [".".join(str(p) for p in err["loc"]) for err in exc.errors()]
        raise RunbookError(f"{path}: {exc}", fields=fields) from exc
