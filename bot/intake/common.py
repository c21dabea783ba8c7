"""Helpers every intake parser shares: payload validation, severity, service, environment, times."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from bot.alerts import Severity
from bot.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)

INVALID_JSON = "invalid_json"
INVALID_PAYLOAD = "invalid_payload"

_SEVERITY_WORDS: dict[str, Severity] = {
    **dict.fromkeys(("critical", "crit", "page", "fatal", "emergency", "sev1", "p1", "disaster"), Severity.P1),
    **dict.fromkeys(("error", "err", "high", "major", "sev2", "p2"), Severity.P2),
    **dict.fromkeys(("warning", "warn", "medium", "average", "sev3", "p3"), Severity.P3),
    **dict.fromkeys(("info", "informational", "low", "minor", "notice", "sev4", "sev5", "p4", "p5"), Severity.P4),
}
SERVICE_LABELS = ("service", "app", "job")
ENVIRONMENT_LABELS = ("env", "environment")
DEFAULT_ENVIRONMENT = "prod"


def map_severity(value: str | None, default: Severity = Severity.P3) -> Severity:
    """Map a source's severity word, urgency or P1-P5 priority onto P1-P4 (P5 becomes P4)."""
    if not value:
        return default
    return _SEVERITY_WORDS.get(value.strip().lower(), default)


def service_from(labels: Mapping[str, str], default: str = "unknown") -> str:
    """The service named by the `service`, `app` or `job` label, in that order."""
    return next((labels[k] for k in SERVICE_LABELS if labels.get(k)), default)


def environment_from(labels: Mapping[str, str], default: str = DEFAULT_ENVIRONMENT) -> str:
    """The environment named by the `env` or `environment` label."""
    return next((labels[k] for k in ENVIRONMENT_LABELS if labels.get(k)), default)


def as_utc(value: datetime | None) -> datetime | None:
    """The time in UTC; Go's zero time (year 1) and None mean 'not set'; naive times are taken as UTC."""
    if value is None or value.year <= 1:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def from_epoch(value: float | str | None) -> datetime | None:
    """A UTC time from an epoch in seconds, milliseconds, microseconds or nanoseconds (guessed by size)."""
    if value is None or value == "":
        return None
    number = float(value)
    for divisor, limit in ((1e9, 1e17), (1e6, 1e14), (1e3, 1e11)):
        if abs(number) >= limit:
            return datetime.fromtimestamp(number / divisor, UTC)
    return datetime.fromtimestamp(number, UTC)


def stable_id(*parts: object) -> str:
    """A short stable hash of the parts, for fingerprints a source does not give."""
    raw = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def parse_tags(tags: list[str] | str | None) -> dict[str, str]:
    """`key:value` tags (a list or one comma-separated string) as labels; a bare tag maps to ''."""
    if not tags:
        return {}
    items = tags.split(",") if isinstance(tags, str) else tags
    labels: dict[str, str] = {}
    for item in (t.strip() for t in items):
        if item:
            key, _, value = item.partition(":")
            labels.setdefault(key.strip(), value.strip())
    return labels


def load_payload(model: type[M], body: bytes | Mapping[str, Any]) -> M:
    """Decode and validate a payload; raises InvalidInput naming every bad field."""
    data: object = body
    if isinstance(body, bytes | bytearray):
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidInput(f"body is not valid JSON: {exc}", fields=["body"], code=INVALID_JSON) from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [(_field_path(e["loc"]), e["msg"]) for e in exc.errors()]
        fields = list(dict.fromkeys(name for name, _ in problems))
        raise InvalidInput(
            "payload does not match the source's format: " + ", ".join(fields),
            fields=fields,
            code=INVALID_PAYLOAD,
            errors=[{"field": name, "message": msg} for name, msg in problems],
        ) from None


def _field_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "body"
