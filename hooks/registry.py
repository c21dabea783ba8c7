"""The hook registry: built-in hooks plus third-party ones from the `runbook_bot.hooks` entry points."""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Iterable
from importlib.metadata import entry_points
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticUndefined

from bot.errors import InvalidInput
from hooks.base import Hook, HookKind

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "runbook_bot.hooks"
# Modules under hooks/ whose import registers the built-in hooks.
BUILTIN_MODULES: tuple[str, ...] = (
    "hooks.prometheus",
    "hooks.http",
    "hooks.postgres",
    "hooks.loki",
    "hooks.kubernetes",
    "hooks.kubeactions",
    "hooks.shell",
    "hooks.cache",
    "hooks.pager",
    "hooks.notify",
    "hooks.http_action",
)
# The coroutine methods each kind must provide, and the plain ones.
_REQUIRED_METHODS: dict[HookKind, tuple[tuple[str, bool], ...]] = {
    HookKind.DIAGNOSTIC: (("run", True),),
    HookKind.ACTION: (("execute", True), ("describe", False), ("rollback", False)),
}

_REGISTRY: dict[str, Hook] = {}
_loaded = False


def register(cls: type[Any]) -> type[Any]:
    """Class decorator: instantiate and register a hook under its `name`."""
    hook = cls()
    if not isinstance(hook, Hook):
        raise TypeError(f"{cls.__name__} does not implement the hook protocol")
    _check_shape(cls, hook)
    if hook.name in _REGISTRY and type(_REGISTRY[hook.name]) is not cls:
        raise ValueError(f"hook {hook.name!r} registered twice")
    _REGISTRY[hook.name] = hook
    return cls


def _check_shape(cls: type[Any], hook: Hook) -> None:
    if not (isinstance(hook.config_model, type) and issubclass(hook.config_model, BaseModel)):
        raise TypeError(f"{cls.__name__}.config_model must be a pydantic model")
    if hook.deprecated and not hook.replacement:
        raise TypeError(f"{cls.__name__} is deprecated but names no replacement")
    for method, coroutine in _REQUIRED_METHODS[hook.kind]:
        attr = getattr(hook, method, None)
        if attr is None or inspect.iscoroutinefunction(attr) is not coroutine:
            kind = "a coroutine" if coroutine else "a plain method"
            raise TypeError(f"{cls.__name__}.{method} must be {kind} for a {hook.kind.value} hook")


def load_hooks(extra_modules: Iterable[str] = ()) -> dict[str, Hook]:
    """Import the built-in hook modules and every entry-point hook once; returns the registry."""
    global _loaded
    if not _loaded:
        for module in BUILTIN_MODULES:
            importlib.import_module(module)
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            try:
                ep.load()
            except Exception:
                log.exception("hook entry point failed to load", extra={"entry_point": ep.name})
        _loaded = True
    for module in extra_modules:
        importlib.import_module(module)
    return _REGISTRY


def get_hook(name: str) -> Hook | None:
    """The hook registered under `name`, if any."""
    return load_hooks().get(name)


def get_hook_or_raise(name: str, kind: HookKind | None = None) -> Hook:
    """The hook registered under `name`; raises InvalidInput when unknown or of the wrong kind."""
    hook = get_hook(name)
    if hook is None:
        raise InvalidInput(f"unknown hook type {name!r}; known: {', '.join(sorted(load_hooks()))}", fields=["type"])
    if kind is not None and hook.kind is not kind:
        raise InvalidInput(f"hook {name!r} is a {hook.kind.value} hook, not {kind.value}", fields=["type"])
    return hook


def hook_names(kind: HookKind | None = None) -> list[str]:
    """Sorted names of the registered hooks, optionally of one kind."""
    return sorted(n for n, h in load_hooks().items() if kind is None or h.kind is kind)


def _is_reference(value: Any) -> bool:
    return isinstance(value, str) and "${" in value


def validate_config(name: str, config: dict[str, Any]) -> tuple[BaseModel | None, list[str]]:
    """Validate a runbook's hook config; problems on fields holding `${…}` references wait for run time."""
    hook = get_hook_or_raise(name)
    try:
        return hook.config_model.model_validate(config), []
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            if _is_reference(error.get("input")):
                continue
            where = ".".join(str(p) for p in error["loc"]) or "config"
            problems.append(f"{where}: {error['msg']}")
        return None, problems


def config_fields(model: type[BaseModel]) -> list[dict[str, Any]]:
    """Each field of a config model: name, type, whether required, default and description."""
    fields = []
    for name, info in model.model_fields.items():
        default: Any = None
        if info.default_factory is not None:
            default = info.default_factory()  # type: ignore[call-arg]
        elif info.default is not PydanticUndefined:
            default = info.default
        annotation = info.annotation
        type_name = getattr(annotation, "__name__", None) if isinstance(annotation, type) else None
        fields.append(
            {
                "name": name,
                "type": type_name or str(annotation).replace("typing.", ""),
                "required": info.is_required(),
                "default": default,
                "help": info.description or "",
            }
        )
    return fields


def hook_summary(hook: Hook) -> dict[str, Any]:
    """What `runbookctl hooks` shows of one hook."""
    return {
        "name": hook.name,
        "kind": hook.kind.value,
        "version": hook.version,
        "deprecated": hook.deprecated,
        "replacement": hook.replacement,
        "help": hook.help,
        "fields": config_fields(hook.config_model),
    }
