"""The hook protocol: what every diagnostic and action hook provides."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from bot.engine.types import HookOutput

if TYPE_CHECKING:
    from bot.settings import Settings

# Sends `text` to a Slack channel; the bot wires its gateway in, so hooks never import slack-sdk.
PostMessage = Callable[[str, str], Awaitable[Any]]


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
    # The incident's Slack channel: where `notify` posts when the runbook names neither channel nor webhook.
    channel: str | None = None
    post_message: PostMessage | None = None
    # The runbook's `allowed_hosts` (None: not narrowed): redirect hops of HTTP hooks are checked against it too.
    allowed_hosts: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ActionOutput:
    """What an action hook's execute() returns."""

    ok: bool
    output: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    # False when the step failed before it could change anything (refused up front): no rollback is offered then.
    acted: bool = True


@dataclass(frozen=True)
class RollbackSpec:
    """The action (hook name and config) that undoes another."""

    action: str
    config: dict[str, Any]


class HookConfig(BaseModel):
    """Base of every hook config: unknown fields are errors, so `runbookctl lint` catches typos."""

    model_config = ConfigDict(extra="forbid", frozen=True)


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

    def rollback(self, config: Any, ctx: HookContext, output: ActionOutput | None = None) -> RollbackSpec | None:
        """The declared action that undoes this one (exact once `output` is known), or None when nothing can."""
        ...


class BaseDiagnostic:
    """Defaults shared by the built-in diagnostic hooks."""

    kind: ClassVar[HookKind] = HookKind.DIAGNOSTIC
    version: ClassVar[str] = "1.0.0"
    deprecated: ClassVar[bool] = False
    replacement: ClassVar[str | None] = None


class BaseAction:
    """Defaults shared by the built-in action hooks; execute() honours ctx.dry_run before touching anything."""

    kind: ClassVar[HookKind] = HookKind.ACTION
    version: ClassVar[str] = "1.0.0"
    deprecated: ClassVar[bool] = False
    replacement: ClassVar[str | None] = None

    def describe(self, config: Any, ctx: HookContext) -> str:
        """Exactly what execute() would do."""
        raise NotImplementedError

    async def perform(self, config: Any, ctx: HookContext) -> ActionOutput:
        """The real change; called by execute() outside dry runs."""
        raise NotImplementedError

    async def execute(self, config: Any, ctx: HookContext) -> ActionOutput:
        """Do it once, or only say what would happen when ctx.dry_run is set."""
        if ctx.dry_run:
            return ActionOutput(ok=True, output=f"dry run: {self.describe(config, ctx)}", data={"dry_run": True})
        return await self.perform(config, ctx)

    def rollback(self, config: Any, ctx: HookContext, output: ActionOutput | None = None) -> RollbackSpec | None:
        """Nothing undoes this action unless a subclass says otherwise."""
        return None
