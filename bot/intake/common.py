"""Helpers every intake parser shares: payload validation, severity, service, environment, times."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from bot.alerts import Severity
from bot.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)

INVALID_JSON = "invalid_json"
INVALID_PAYLOAD = "invalid_payload"
INVALID_ENCODING = "invalid_encoding"
NESTING_TOO_DEEP = "nesting_too_deep"
INVALID_TEXT = "invalid_text"
# Real payloads nest fewer than ten levels; deeper is an attack on the parser, not an alert.
MAX_DEPTH = 32

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
    try:
        for divisor, limit in ((1e9, 1e17), (1e6, 1e14), (1e3, 1e11)):
            if abs(number) >= limit:
                return datetime.fromtimestamp(number / divisor, UTC)
        return datetime.fromtimestamp(number, UTC)
    except (OverflowError, OSError) as exc:
        # ValueError, so a pydantic validator reports it as a bad field.
        raise ValueError(f"epoch {value!r} is out of range") from exc


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
    """Decode and validate a payload; raises InvalidInput naming the problem or every bad field."""
    data: object = decode_json(body) if isinstance(body, bytes | bytearray) else body
    check_tree(data)
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


def decode_json(body: bytes) -> object:
    """The JSON value of a UTF-8 body; raises InvalidInput naming the encoding, syntax or nesting problem."""
    try:
        text = bytes(body).decode("utf-8")
    except UnicodeDecodeError as exc:
        where = f"byte 0x{body[exc.start]:02x} at offset {exc.start}"
        raise InvalidInput(f"body is not UTF-8: {where}", fields=["body"], code=INVALID_ENCODING) from None
    try:
        return json.loads(text.removeprefix("\ufeff"))
    except RecursionError:
        message = f"body nests deeper than {MAX_DEPTH} levels"
        raise InvalidInput(message, fields=["body"], code=NESTING_TOO_DEEP) from None
    except ValueError as exc:
        # JSONDecodeError, and integers longer than Python converts (over 4300 digits).
        raise InvalidInput(f"body is not valid JSON: {exc}", fields=["body"], code=INVALID_JSON) from None


def check_tree(data: object) -> None:
    """Refuse nesting deeper than MAX_DEPTH and text with lone surrogates (not Unicode, cannot be stored)."""
    if isinstance(data, str):
        _check_text(data, ())
    stack: list[tuple[object, tuple[str, ...]]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        items: Iterable[tuple[object, object]]
        if isinstance(value, Mapping):
            items = value.items()
        elif isinstance(value, list | tuple):
            items = enumerate(value)
        else:
            continue
        if len(path) >= MAX_DEPTH:
            raise InvalidInput(f"body nests deeper than {MAX_DEPTH} levels", fields=["body"], code=NESTING_TOO_DEEP)
        for key, child in items:
            # Paths are built only for what needs a closer look: most payload text is plain ASCII.
            if isinstance(key, str) and not key.isascii():
                _check_text(key, (*path, key))
            if isinstance(child, str):
                if not child.isascii():
                    _check_text(child, (*path, str(key)))
            elif isinstance(child, Mapping | list | tuple):
                stack.append((child, (*path, str(key))))


def _check_text(text: str, path: tuple[str, ...]) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        where = _dotted(path)
        bad = text[exc.start].encode("unicode_escape").decode()
        raise InvalidInput(
            f"text at {where} holds a lone UTF-16 surrogate ({bad}), which is not valid Unicode",
            fields=[where],
            code=INVALID_TEXT,
        ) from None


def _dotted(path: tuple[str, ...]) -> str:
    # A bad key is part of its own path: escape it so the error message itself is valid text.
    return ".".join(part.encode("utf-8", "backslashreplace").decode() for part in path) or "body"


def _field_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "body"
