"""Semantic checks of hook types, hook configs and `${…}` references against the hook registry."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bot.runbooks.fieldcheck import typed_references
from bot.runbooks.loader import LoadedRunbook
from bot.runbooks.problems import Level, Problem
from bot.runbooks.refs import find_references, reference_problem
from bot.runbooks.schema import Loc
from hooks import registry
from hooks.base import HookKind
from hooks.guards import FieldType

SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "/bin/sh", "/bin/bash", "/usr/bin/env"})


def hook_uses(loaded: LoadedRunbook) -> Iterator[tuple[Loc, str, dict[str, Any], HookKind]]:
    """Every (path, hook name, config, kind) the runbook uses: diagnostics, actions and rollbacks."""
    runbook = loaded.runbook
    for i, diagnostic in enumerate(runbook.diagnostics):
        yield ("diagnostics", i), diagnostic.type, diagnostic.config, HookKind.DIAGNOSTIC
    for i, remediation in enumerate(runbook.remediations):
        for part in ("action", "rollback"):
            action = getattr(remediation, part)
            if action is not None:
                yield ("remediations", i, part), action.type, action.config, HookKind.ACTION


def check_hooks(loaded: LoadedRunbook) -> list[Problem]:
    """Unknown or wrong-kind hook types, invalid configs, bad references and references spliced into code."""
    problems: list[Problem] = []
    for loc, name, config, kind in hook_uses(loaded):
        problems += _check_type(loaded, loc, name, config, kind)
        problems += _check_refs(loaded, loc, name, config)
        problems += _check_reach(loaded, loc, name, config)
    return problems


def _check_reach(loaded: LoadedRunbook, loc: Loc, name: str, config: dict[str, Any]) -> list[Problem]:
    """Warn where alert data chooses a URL or a Kubernetes object and the runbook declares no allow-list."""
    runbook = loaded.runbook
    problems = []
    warned: set[str] = set()  # one warning per hook config and allow-list, at the first reference
    for path, ref, kind in typed_references(name, config):
        needs = "allowed_hosts" if kind is FieldType.URL else "allowed_namespaces"
        if needs in warned:
            continue
        if kind is FieldType.URL and runbook.allowed_hosts is None:
            message = (
                f"reference ${{{ref}}} chooses where an HTTP request goes: declare the runbook's allowed_hosts "
                f"(it narrows HTTP_ALLOWED_HOSTS; without both, the request is refused)"
            )
        elif kind in (FieldType.KUBE_NAMESPACE, FieldType.KUBE_NAME) and runbook.allowed_namespaces is None:
            message = (
                f"reference ${{{ref}}} chooses a Kubernetes object: declare the runbook's allowed_namespaces "
                f"so alert data reaches only those namespaces"
            )
        else:
            continue
        warned.add(needs)
        problems.append(_problem(loaded, (*loc, "config", *path), message, "reach", Level.WARNING))
    return problems


def _problem(loaded: LoadedRunbook, loc: Loc, message: str, code: str, level: Level = Level.ERROR) -> Problem:
    line, column = loaded.positions.at(loc)
    return Problem(loaded.file, line, column, message, level, code)


def _check_type(loaded: LoadedRunbook, loc: Loc, name: str, config: dict[str, Any], kind: HookKind) -> list[Problem]:
    hook = registry.get_hook(name)
    if hook is None:
        known = ", ".join(registry.hook_names(kind)) or "none registered"
        return [_problem(loaded, (*loc, "type"), f"unknown {kind.value} hook type {name!r} (known: {known})", "hook")]
    if hook.kind is not kind:
        message = f"hook {name!r} is of kind {hook.kind.value}, not {kind.value}"
        return [_problem(loaded, (*loc, "type"), message, "hook")]
    problems = []
    if hook.deprecated:
        instead = f"; use {hook.replacement!r}" if hook.replacement else ""
        problems.append(
            _problem(loaded, (*loc, "type"), f"hook {name!r} is deprecated{instead}", "hook", Level.WARNING)
        )
    _, config_problems = registry.validate_config(name, config)
    for text in config_problems:
        field, _, detail = text.partition(": ")
        text = f"{field}: {detail.removeprefix('Value error, ')}"
        where: Loc = (*loc, "config", *(int(p) if p.isdigit() else p for p in field.split(".") if p))
        problems.append(_problem(loaded, where, f"{name} config: {text}", "config"))
    return problems


def _check_refs(loaded: LoadedRunbook, loc: Loc, name: str, config: dict[str, Any]) -> list[Problem]:
    problems = []
    # Fields whose text is code in another language (SQL): a reference there would splice data into code.
    code = {path for path, _, kind in typed_references(name, config) if kind is FieldType.SQL}
    for path, ref in find_references(config):
        where: Loc = (*loc, "config", *path)
        issue = reference_problem(ref)
        if issue:
            problems.append(_problem(loaded, where, issue, "ref"))
        elif path in code:
            message = f"reference ${{{ref}}} inside SQL text: values are data, never spliced into code"
            problems.append(_problem(loaded, where, message, "ref"))
        elif _in_shell_script(config, path):
            message = f"reference ${{{ref}}} inside a shell script (-c): pass it as its own argv element"
            problems.append(_problem(loaded, where, message, "ref"))
    return problems


def _in_shell_script(config: dict[str, Any], path: tuple[str | int, ...]) -> bool:
    if len(path) != 2 or path[0] != "argv" or not isinstance(path[1], int):
        return False
    argv = config.get("argv")
    if not isinstance(argv, list) or not argv or str(argv[0]) not in SHELLS:
        return False
    return "-c" in [str(a) for a in argv[1 : path[1]]]
