"""Field types of hook configs and the rules alert data must meet before it reaches one.

A config model declares what a field holds with an `Annotated` marker (`KubeNamespace`, `KubeName`,
`Argv`, `HttpUrl`, `HttpUrls`, `SqlText`); the runbook layer reads the marker and checks every value that came
from an alert against the rule of that type before the hook runs. The rules are pure functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import Annotated, Any, get_args

from pydantic import AfterValidator, BaseModel


class FieldType(StrEnum):
    """What a config field holds, so the data flowing into it can be checked for that use."""

    KUBE_NAMESPACE = "kubernetes namespace"
    KUBE_NAME = "kubernetes name"
    ARGV = "argv"
    URL = "url"
    SQL = "SQL text"


@dataclass(frozen=True)
class Typed:
    """The `Annotated` marker that gives a config field its FieldType."""

    kind: FieldType


# DNS-1123 label (namespaces) and subdomain (object names), as the API server validates them.
_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
DNS1123_LABEL = re.compile(_LABEL)
DNS1123_SUBDOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
LABEL_MAX = 63
SUBDOMAIN_MAX = 253
# Namespaces of the cluster itself: alert data reaches them only when a runbook lists them by name.
SYSTEM_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease"})
GLOB_CHARS = frozenset("*?[")


def namespace_problem(value: str) -> str | None:
    """Why `value` is not a DNS-1123 label (a namespace); None when it is one."""
    if len(value) > LABEL_MAX:
        return f"a namespace is a DNS-1123 label of at most {LABEL_MAX} characters (got {len(value)})"
    if not DNS1123_LABEL.fullmatch(value):
        return "a namespace is a DNS-1123 label: lowercase letters, digits and '-', starting and ending alphanumeric"
    return None


def name_problem(value: str) -> str | None:
    """Why `value` is not a DNS-1123 subdomain (an object name); None when it is one."""
    if len(value) > SUBDOMAIN_MAX:
        return f"a Kubernetes name is a DNS-1123 subdomain of at most {SUBDOMAIN_MAX} characters (got {len(value)})"
    if not DNS1123_SUBDOMAIN.fullmatch(value):
        return "a Kubernetes name is a DNS-1123 subdomain: lowercase alphanumeric labels joined by '.', '-' inside"
    return None


def argv_element_problem(value: str) -> str | None:
    """Why alert data forming a whole argv element is refused: it would be read as an option."""
    if value.startswith("-"):
        return "a whole argv element taken from alert data may not start with '-' (it would be read as an option)"
    return None


def code_problem() -> str:
    """Why alert data may never be part of code text such as SQL."""
    return "alert data is never spliced into code; the hook binds values as parameters only"


def namespace_allowed(value: str, patterns: list[str] | None) -> str | None:
    """Why a namespace from alert data is outside the runbook's `allowed_namespaces`; None when inside."""
    if value in SYSTEM_NAMESPACES and (patterns is None or value not in patterns):
        return f"system namespace {value!r} is reached from alert data only when allowed_namespaces lists it by name"
    if patterns is not None and not any(fnmatchcase(value, p) for p in patterns):
        return f"namespace {value!r} is not in the runbook's allowed_namespaces ({', '.join(patterns) or 'empty'})"
    return None


def _kube_namespace(value: str) -> str:
    problem = namespace_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _kube_name(value: str) -> str:
    problem = name_problem(value)
    if problem:
        raise ValueError(problem)
    return value


# Static values are checked too, so a Kubernetes path is always made of valid names.
KubeNamespace = Annotated[str, Typed(FieldType.KUBE_NAMESPACE), AfterValidator(_kube_namespace)]
KubeName = Annotated[str, Typed(FieldType.KUBE_NAME), AfterValidator(_kube_name)]
Argv = Annotated[list[str], Typed(FieldType.ARGV)]
HttpUrl = Annotated[str, Typed(FieldType.URL)]
HttpUrls = Annotated[list[str], Typed(FieldType.URL)]
SqlText = Annotated[str, Typed(FieldType.SQL)]


def field_type(model: type[BaseModel], name: str) -> FieldType | None:
    """The FieldType a config model declares for one of its fields, if any."""
    info = model.model_fields.get(name)
    if info is None:
        return None
    # `KubeName | None` keeps the marker on the union member, so look one level into unions too.
    members = [info.annotation, *get_args(info.annotation)]
    markers: list[Any] = [*info.metadata, *(m for t in members for m in getattr(t, "__metadata__", ()))]
    for marker in markers:
        if isinstance(marker, Typed):
            return marker.kind
    return None


def typed_fields(model: type[BaseModel]) -> dict[str, FieldType]:
    """Every field of a config model that declares a FieldType."""
    found = {name: field_type(model, name) for name in model.model_fields}
    return {name: kind for name, kind in found.items() if kind is not None}
