"""`${alert.labels.x}` references in hook configs, resolved as data: never templated, never spliced into code."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.alerts import Alert
from bot.errors import RunbookError
from hooks.urlguard import HostPolicy

REFERENCE = re.compile(r"\$\{([^}]*)\}")
_PATH = re.compile(r"^(?:alert\.(?:labels|annotations)\.[A-Za-z_][A-Za-z0-9_.-]*|alert\.[a-z_]+|incident\.[a-z_]+)$")
ALERT_FIELDS = frozenset({"name", "service", "environment", "severity", "source", "title", "fingerprint", "status"})
INCIDENT_FIELDS = frozenset({"id", "channel"})
# A value embedded inside a longer string must be a plain token, so it cannot change the meaning of a query.
_SAFE_EMBED = re.compile(r"^[A-Za-z0-9_.:/@+=-]*$")
PLAIN = (str, int, float, bool)


@dataclass(frozen=True)
class RefContext:
    """What references resolve against: the alert and the incident."""

    alert: Alert | None = None
    incident: Mapping[str, str] = field(default_factory=dict)
    # Where alert data may lead: URL hosts (HTTP_ALLOWED_HOSTS narrowed by the runbook) and namespaces.
    hosts: HostPolicy = field(default_factory=HostPolicy)
    namespaces: tuple[str, ...] | None = None


def find_references(value: Any) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Yield (path inside value, reference text) for every `${…}` in a nested config."""
    if isinstance(value, str):
        for found in REFERENCE.finditer(value):
            yield (), found.group(1).strip()
        leftover = REFERENCE.sub("", value)
        if "${" in leftover:
            yield (), leftover[leftover.index("${") :]
    elif isinstance(value, Mapping):
        for key, child in value.items():
            for path, ref in find_references(child):
                yield (key, *path), ref
    elif isinstance(value, list):
        for index, child in enumerate(value):
            for path, ref in find_references(child):
                yield (index, *path), ref


def reference_problem(ref: str) -> str | None:
    """Why a reference is not valid syntax or names nothing we resolve; None when it is fine."""
    if ref.startswith("${"):
        return f"unterminated reference {ref}: close it with }}"
    if not _PATH.match(ref):
        return f"invalid reference ${{{ref}}}: use ${{alert.labels.NAME}}, ${{alert.FIELD}} or ${{incident.id}}"
    root, _, rest = ref.partition(".")
    if root == "alert" and not rest.startswith(("labels.", "annotations.")) and rest not in ALERT_FIELDS:
        return f"unknown reference ${{{ref}}}: alert fields are {', '.join(sorted(ALERT_FIELDS))}, labels, annotations"
    if root == "incident" and rest not in INCIDENT_FIELDS:
        return f"unknown reference ${{{ref}}}: incident fields are {', '.join(sorted(INCIDENT_FIELDS))}"
    return None


def lookup(ref: str, ctx: RefContext) -> Any:
    """The plain value a reference names; raises RunbookError when it is unknown or absent."""
    problem = reference_problem(ref)
    if problem:
        raise RunbookError(problem, fields=[ref])
    root, _, rest = ref.partition(".")
    if root == "incident":
        value: Any = ctx.incident.get(rest)
    elif ctx.alert is None:
        value = None
    elif rest.startswith(("labels.", "annotations.")):
        group, _, key = rest.partition(".")
        value = getattr(ctx.alert, group).get(key)
    else:
        value = getattr(ctx.alert, rest)
        value = getattr(value, "value", value)  # enums become their plain value
    if value is None:
        raise RunbookError(f"reference ${{{ref}}} has no value for this alert", fields=[ref])
    if not isinstance(value, PLAIN):
        raise RunbookError(f"reference ${{{ref}}} is not a plain value", fields=[ref])
    return value


def resolve(value: Any, ctx: RefContext) -> Any:
    """A copy of a config with every reference replaced by its value, as data."""
    if isinstance(value, str):
        return _resolve_string(value, ctx)
    if isinstance(value, Mapping):
        return {key: resolve(child, ctx) for key, child in value.items()}
    if isinstance(value, list):
        return [resolve(child, ctx) for child in value]
    return value


def _resolve_string(text: str, ctx: RefContext) -> Any:
    whole = REFERENCE.fullmatch(text)
    if whole:
        return lookup(whole.group(1).strip(), ctx)
    if "${" not in text:
        return text

    def embed(found: re.Match[str]) -> str:
        ref = found.group(1).strip()
        value = str(lookup(ref, ctx))
        if not _SAFE_EMBED.match(value):
            raise RunbookError(
                f"value of ${{{ref}}} has characters not allowed inside a string: {value!r}", fields=[ref]
            )
        return value

    return REFERENCE.sub(embed, text)
