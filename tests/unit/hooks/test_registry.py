"""The hook registry: every built-in hook is complete, configs validate, third-party hooks load from entry points."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel

import hooks.registry as registry
from bot.engine.types import HookOutput
from hooks.base import ActionHook, BaseDiagnostic, DiagnosticHook, HookContext, HookKind
from hooks.registry import get_hook, get_hook_or_raise, hook_names, hook_summary, register, validate_config

DIAGNOSTICS = {"prometheus_query", "http_check", "database_query", "log_search", "kubernetes", "shell_command"}
ACTIONS = {
    "restart_service",
    "scale",
    "rollback",
    "flush_cache",
    "run_script",
    "kill_idle_connections",
    "notify",
    "page",
    "http_request",
}


def test_builtins_are_all_registered_with_their_kind() -> None:
    assert set(hook_names(HookKind.DIAGNOSTIC)) >= DIAGNOSTICS
    assert set(hook_names(HookKind.ACTION)) >= ACTIONS


@pytest.mark.parametrize("name", sorted(DIAGNOSTICS | ACTIONS))
def test_each_hook_is_complete(name: str) -> None:
    hook = get_hook(name)
    assert hook is not None and hook.name == name
    assert hook.help and "\n" not in hook.help and hook.version.count(".") == 2
    assert issubclass(hook.config_model, BaseModel)
    if hook.kind is HookKind.DIAGNOSTIC:
        assert isinstance(hook, DiagnosticHook) and inspect.iscoroutinefunction(hook.run)
    else:
        assert isinstance(hook, ActionHook) and inspect.iscoroutinefunction(hook.execute)
    summary = hook_summary(hook)
    assert summary["fields"] and all(f["help"] for f in summary["fields"])


@pytest.mark.parametrize(
    ("name", "config", "problem"),
    [
        ("scale", {"namespace": "a", "deployment": "b", "replicas": 9, "max_replicas": 4}, "exceeds max_replicas"),
        ("http_check", {"urls": []}, "urls"),
        ("kubernetes", {"check": "rollout", "namespace": "a"}, "needs a deployment"),
        ("prometheus_query", {"query": "up", "sever": "x"}, "sever: Extra inputs are not permitted"),
        ("page", {"provider": "pagerduty", "summary": "x", "severity": "bad"}, "severity"),
        ("shell_command", {"argv": []}, "argv"),
    ],
)
def test_invalid_configs_are_reported(name: str, config: dict[str, Any], problem: str) -> None:
    model, problems = validate_config(name, config)
    assert model is None and any(problem in p for p in problems), problems


def test_valid_config_and_references_wait_for_run_time() -> None:
    model, problems = validate_config("database_query", {"database": "orders", "query": "SELECT 1"})
    assert problems == [] and model is not None and model.max_rows == 100  # type: ignore[attr-defined]
    _, problems = validate_config("scale", {"namespace": "a", "deployment": "b", "replicas": "${n}", "max_replicas": 5})
    assert problems == []


def test_wrong_kind_and_unknown_name() -> None:
    with pytest.raises(Exception, match="is a action hook, not diagnostic"):
        get_hook_or_raise("scale", HookKind.DIAGNOSTIC)
    with pytest.raises(Exception, match="unknown hook type 'nope'"):
        get_hook_or_raise("nope")


def test_register_refuses_incomplete_hooks() -> None:
    class Sync(BaseDiagnostic):
        name: ClassVar[str] = "sync_hook"
        help: ClassVar[str] = "x"
        config_model: ClassVar[type[BaseModel]] = BaseModel

        def run(self, config: Any, ctx: HookContext) -> HookOutput:  # not a coroutine
            return HookOutput(value=1)

    class Orphan(BaseDiagnostic):
        name: ClassVar[str] = "orphan_hook"
        help: ClassVar[str] = "x"
        config_model: ClassVar[type[BaseModel]] = BaseModel
        deprecated: ClassVar[bool] = True

        async def run(self, config: Any, ctx: HookContext) -> HookOutput:
            return HookOutput(value=1)

    with pytest.raises(TypeError, match="must be a coroutine"):
        register(Sync)
    with pytest.raises(TypeError, match="names no replacement"):
        register(Orphan)
    assert get_hook("sync_hook") is None and get_hook("orphan_hook") is None


THIRD_PARTY = """
from typing import ClassVar
from pydantic import BaseModel
from bot.engine.types import HookOutput
from hooks.base import BaseDiagnostic
from hooks.registry import register

class Cfg(BaseModel):
    target: str

@register
class Ping(BaseDiagnostic):
    name: ClassVar[str] = "acme_ping"
    help: ClassVar[str] = "Acme ping"
    version: ClassVar[str] = "0.3.0"
    deprecated: ClassVar[bool] = True
    replacement: ClassVar[str | None] = "http_check"
    config_model: ClassVar[type[Cfg]] = Cfg

    async def run(self, config, ctx):
        return HookOutput(value=0)
"""


def test_third_party_hook_from_entry_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "acme_hooks.py").write_text(THIRD_PARTY)
    dist = tmp_path / "acme_hooks-0.3.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-hooks\nVersion: 0.3.0\n")
    (dist / "entry_points.txt").write_text("[runbook_bot.hooks]\nacme = acme_hooks\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    # A copy of the registry, so this test's hook never leaks into others; entry points load again.
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry.load_hooks()))
    monkeypatch.setattr(registry, "_loaded", False)
    hook = get_hook("acme_ping")
    assert hook is not None and hook.version == "0.3.0"
    assert hook_summary(hook)["replacement"] == "http_check"
    assert "prometheus_query" in hook_names()
