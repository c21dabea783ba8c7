"""Incident channel names: from a template, sanitised to Slack's rules, with a suffix when taken."""

from __future__ import annotations

import re
import unicodedata

MAX_LEN = 80
_INVALID = re.compile(r"[^a-z0-9_-]+")
_DASHES = re.compile(r"-{2,}")


def sanitise(raw: str) -> str:
    """Lowercase, strip accents, map anything outside [a-z0-9_-] to '-', collapse dashes, cut to 80."""
    ascii_text = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode()
    name = _DASHES.sub("-", _INVALID.sub("-", ascii_text.lower())).strip("-_")
    return name[:MAX_LEN].rstrip("-_") or "incident"


def channel_name(template: str, number: int, service: str, title: str, severity: str = "") -> str:
    """Render the template ({number}, {service}, {title}, {severity}) and sanitise it."""
    values = {"number": str(number), "service": sanitise(service), "title": sanitise(title), "severity": severity}
    rendered = template
    for key, value in values.items():
        rendered = rendered.replace("{" + key + "}", value)
    return sanitise(rendered)


def with_suffix(name: str, attempt: int) -> str:
    """The name for the n-th retry after `name_taken`: keeps within 80 characters."""
    if attempt <= 0:
        return name
    suffix = f"-{attempt + 1}"
    return name[: MAX_LEN - len(suffix)].rstrip("-_") + suffix
