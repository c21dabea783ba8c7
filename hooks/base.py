"""The hook protocol: what every diagnostic and action hook provides."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel

from bot.engine.types import HookOutput

if TYPE_CHECKING:
    from bot.settings import Settings


class HookKind(StrEnum):
    """Whether a hook gathers evidence or changes something."""

    DIAGNOSTIC = "diagnostic"
    ACTION = "action"


@dataclass
class HookContext:
    """What a hook may know about the run: environment, settings, incident and alert data."""

    settings: Settings
    environment: str = "dev"
    incident_id: str | None = None
    service: str | None = None
    alert: dict[str, Any] = field(default_factory=dict)
    dry_run: bool = False
    secrets: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ActionOutput:
    """What an action hook's execute() returns."""

    ok: bool
    output: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RollbackSpec:
    """The action (hook name and config) that undoes another."""

    action: str
    config: dict[str, Any]


@runtime_checkable
class Hook(Protocol):
    """Common attributes of every hook."""

    name: ClassVar[str]
    kind: ClassVar[HookKind]
    version: ClassVar[str]
    help: ClassVar[str]
    config_model: ClassVar[type[BaseModel]]
    deprecated: ClassVar[bool]
    replacement: ClassVar[str | None]


@runtime_checkable
class DiagnosticHook(Hook, Protocol):
    """A hook that gathers evidence and never changes anything."""

    async def run(self, config: Any, ctx: HookContext) -> HookOutput:
        """Query the outside system and return its value and evidence."""
        ...


@runtime_checkable
class ActionHook(Hook, Protocol):
    """A hook that changes something, always describable, checkable and undoable."""

    def describe(self, config: Any, ctx: HookContext) -> str:
        """Exactly what execute() would do, in one or two sentences."""
        ...

    async def execute(self, config: Any, ctx: HookContext) -> ActionOutput:
        """Do it, once."""
        ...

    def rollback(self, config: Any, ctx: HookContext) -> RollbackSpec | None:
        """The declared action that undoes this one, or None when nothing can."""
        ...
