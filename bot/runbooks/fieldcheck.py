"""Alert data checked against the type of the hook field it flows into, before the hook runs.

A hook's config model marks fields with a FieldType (hooks/guards.py). Each `${…}` reference in such a
field is resolved and its value checked against the rule of that type; a refusal is a RunbookError that
names the reference and the rule, so the step becomes an error result and no request is ever sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bot.errors import RunbookError
from bot.runbooks.refs import REFERENCE, RefContext, find_references, resolve
from hooks import registry
from hooks.guards import (
    FieldType,
    argv_element_problem,
    code_problem,
    name_problem,
    namespace_allowed,
    namespace_problem,
    typed_fields,
)
from hooks.urlguard import url_problem

Path = tuple[str | int, ...]
MAX_SHOWN = 80


def typed_references(hook_type: str, config: Any) -> Iterator[tuple[Path, str, FieldType]]:
    """(path, reference, field type) for each reference inside a typed field of the hook's config."""
    hook = registry.get_hook(hook_type)
    if hook is None or not isinstance(config, dict):
        return
    types = typed_fields(hook.config_model)
    for path, ref in find_references(config):
        if path and path[0] in types:
            yield path, ref, types[str(path[0])]


def _at(config: Any, path: Path) -> Any:
    for part in path:
        config = config[part]
    return config


def _rule(kind: FieldType, raw: str, value: str, ctx: RefContext) -> str | None:
    if kind is FieldType.KUBE_NAMESPACE:
        return namespace_problem(value) or namespace_allowed(value, _list(ctx.namespaces))
    if kind is FieldType.KUBE_NAME:
        return name_problem(value)
    if kind is FieldType.ARGV:
        # Only data that starts the element can turn it into an option; `--host=${x}` stays one option.
        return argv_element_problem(value) if REFERENCE.match(raw) else None
    if kind is FieldType.SQL:
        return code_problem()
    return url_problem(value, ctx.hosts)


def _list(values: tuple[str, ...] | None) -> list[str] | None:
    return None if values is None else list(values)


def _shown(value: str) -> str:
    text = repr(value)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."


def _source(ref: str) -> str:
    group, _, key = ref.partition(".")[2].partition(".")
    names = {"labels": "alert label", "annotations": "alert annotation"}
    return f"{names[group]} {key!r}" if group in names and key else f"${{{ref}}}"


def check_references(hook_type: str, config: Any, ctx: RefContext) -> None:
    """Raise RunbookError naming the label and the rule when alert data does not fit the field it fills."""
    seen: set[Path] = set()
    for path, ref, kind in typed_references(hook_type, config):
        if path in seen:
            continue
        seen.add(path)
        raw = _at(config, path)
        value = resolve(raw, ctx)
        if not isinstance(value, str):
            value = str(value)
        problem = _rule(kind, raw, value, ctx)
        if problem:
            refs = [found.group(1).strip() for found in REFERENCE.finditer(raw)] or [ref]
            where = ".".join(str(p) for p in path)
            raise RunbookError(
                f"{', '.join(_source(r) for r in refs)} = {_shown(value)} refused for {hook_type} field {where} "
                f"({kind.value}): {problem}",
                fields=refs,
            )


def resolve_checked(hook_type: str, config: Any, ctx: RefContext) -> Any:
    """The config with references resolved, after every typed reference passed its field's rule."""
    check_references(hook_type, config, ctx)
    return resolve(config, ctx)
