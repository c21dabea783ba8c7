"""Redact secrets from evidence and errors before they reach Slack, logs or the timeline."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, SecretStr

MASK = "***"
# Shorter values would mask ordinary words and digits all over the evidence.
MIN_SECRET_LEN = 4

_PATTERNS = (
    # userinfo in any URL or DSN: scheme://user:password@host
    (re.compile(r"(?P<keep>[a-z][a-z0-9+.-]*://[^\s:/@]*:)[^\s@/]+(?=@)", re.IGNORECASE), rf"\g<keep>{MASK}"),
    # Authorization headers and the like
    (
        re.compile(r"(?P<keep>\b(?:bearer|basic|token|geniekey)\s+)[A-Za-z0-9._~+/=-]{6,}", re.IGNORECASE),
        rf"\g<keep>{MASK}",
    ),
    # password=..., "api_key": "...", secret: ...
    (
        re.compile(
            r"(?P<keep>\b[\w-]*(?:password|passwd|pwd|secret|token|api[_-]?key|routing[_-]?key|access[_-]?key)"
            r"[\"']?\s*[=:]\s*[\"']?)(?P<value>[^\s\"'&,;}]+)",
            re.IGNORECASE,
        ),
        rf"\g<keep>{MASK}",
    ),
)


def _dsn_password(value: str) -> str | None:
    try:
        password = urlsplit(value).password
    except ValueError:
        return None
    return unquote(password) if password else None


def secrets_of(model: BaseModel) -> list[str]:
    """Every SecretStr value in a settings-like model (also inside dicts and lists), plus DSN passwords in them."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, SecretStr):
            secret = value.get_secret_value()
            found.append(secret)
            password = _dsn_password(secret)
            if password:
                found.append(password)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    for name in type(model).model_fields:
        walk(getattr(model, name))
    return found


class Redactor:
    """Masks known secret values and secret-looking patterns in text and nested data."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        unique = {s for s in secrets if s and len(s) >= MIN_SECRET_LEN}
        # Longest first, so a DSN is masked whole before its password alone is.
        self.secrets = sorted(unique, key=len, reverse=True)

    def text(self, value: str) -> str:
        """The text with every known secret and secret-looking pair masked."""
        for secret in self.secrets:
            value = value.replace(secret, MASK)
        for pattern, replacement in _PATTERNS:
            value = pattern.sub(replacement, value)
        return value

    def data(self, value: Any) -> Any:
        """A copy of nested data with every string redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
        return value


def redactor_for(settings: BaseModel | None, extra: Iterable[str] = ()) -> Redactor:
    """A Redactor knowing the settings' secrets plus `extra` (for example HookContext.secrets)."""
    known = secrets_of(settings) if settings is not None else []
    return Redactor([*known, *extra])


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """One-off redaction of `text` against `secrets` and the secret-looking patterns."""
    return Redactor(secrets).text(text)
