"""Runbook test fixtures: paths, and stand-in hooks for any shipped hook name the registry does not know yet."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel, ConfigDict

from bot.engine.types import HookOutput
from hooks import registry
from hooks.base import ActionOutput, HookKind, RollbackSpec

ROOT = Path(__file__).resolve().parents[3]
RUNBOOKS = ROOT / "runbooks"
FIXTURES = ROOT / "tests" / "fixtures" / "runbooks"

# Config fields as agreed for the shipped hooks; used only when the real hook is not registered.
STAND_INS: dict[str, tuple[HookKind, dict[str, Any]]] = {
    "prometheus_query": (HookKind.DIAGNOSTIC, {"query": (str, ...), "server": (str | None, None)}),
    "http_check": (HookKind.DIAGNOSTIC, {"urls": (list[str], ...), "timeout_s": (float, 5.0)}),
    "database_query": (HookKind.DIAGNOSTIC, {"database": (str, ...), "query": (str, ...)}),
    "log_search": (HookKind.DIAGNOSTIC, {"query": (str, ...), "since_minutes": (int, 15)}),
    "kubernetes": (HookKind.DIAGNOSTIC, {"check": (str, ...), "namespace": (str, ...), "deployment": (str, "")}),
    "shell_command": (HookKind.DIAGNOSTIC, {"argv": (list[str], ...), "timeout_s": (float, 30.0)}),
    "restart_service": (HookKind.ACTION, {"namespace": (str, ...), "deployment": (str, ...)}),
    "scale": (HookKind.ACTION, {"namespace": (str, ...), "deployment": (str, ...), "replicas": (int, ...)}),
    "rollback": (HookKind.ACTION, {"namespace": (str, ...), "deployment": (str, ...)}),
    "run_script": (HookKind.ACTION, {"argv": (list[str], ...)}),
    "kill_idle_connections": (HookKind.ACTION, {"database": (str, ...), "idle_minutes": (int, ...)}),
    "notify": (HookKind.ACTION, {"text": (str, ...), "channel": (str | None, None)}),
    "page": (HookKind.ACTION, {"provider": (str, ...), "summary": (str, ...), "severity": (str, "error")}),
}


class _Loose(BaseModel):
    model_config = ConfigDict(extra="allow")


def _stand_in(name: str, kind: HookKind, fields: dict[str, Any]) -> type[Any]:
    from pydantic import create_model

    model = create_model(f"{name}_config", __base__=_Loose, **fields)

    class Diagnostic:
        async def run(self, config: Any, ctx: Any) -> HookOutput:
            raise AssertionError("runbook tests never run hooks")

    class Action:
        def describe(self, config: Any, ctx: Any) -> str:
            return name

        async def execute(self, config: Any, ctx: Any) -> ActionOutput:
            raise AssertionError("runbook tests never run hooks")

        def rollback(self, config: Any, ctx: Any) -> RollbackSpec | None:
            return None

    base = Diagnostic if kind is HookKind.DIAGNOSTIC else Action
    attrs: dict[str, Any] = {"name": name, "kind": kind, "version": "0", "help": f"stand-in {name}"}
    attrs |= {"config_model": model, "deprecated": False, "replacement": None}
    annotations = {k: ClassVar[Any] for k in attrs}
    return type(f"StandIn_{name}", (base,), {**attrs, "__annotations__": annotations})


@pytest.fixture(scope="session", autouse=True)
def shipped_hooks() -> None:
    """Make every hook the shipped runbooks name known, preferring the real one."""
    for name, (kind, fields) in STAND_INS.items():
        if registry.get_hook(name) is None:
            registry.register(_stand_in(name, kind, fields))
