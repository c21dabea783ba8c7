"""Datadog's notification title: the alert state, priority and scope it carries in square brackets.

Datadog's default webhook payload has no `$ALERT_TRANSITION`; the state is only in the title's
prefix, e.g. `[Triggered on {host:web-3}] High error rate`, `[P2] [Recovered] Unauthorized access`,
`[Warn on {…}]`, `[No Data on {…}]`, `[Re-Triggered on {…}]`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# One leading `[...]` group. Matched from a position, and states split without regex backtracking,
# so a hostile title (a megabyte of brackets or spaces) costs linear time.
_BRACKET = re.compile(r"\s*\[([^\]]*)\]\s*")
_PRIORITY = re.compile(r"^P[1-5]$", re.I)
# Every transition Datadog names ($ALERT_TRANSITION), in lower case.
STATES = frozenset(
    {
        "triggered",
        "re-triggered",
        "recovered",
        "warn",
        "re-warn",
        "warn recovered",
        "no data",
        "re-no data",
        "no data recovered",
        "renotify",
    }
)


@dataclass(frozen=True)
class TitleParts:
    """What a Datadog title says: state (as Datadog spells it), priority, scope and the bare title."""

    state: str | None
    priority: str | None
    scope: str
    name: str


def parse_title(title: str) -> TitleParts:
    """Read the leading `[...]` groups of a title; unknown groups (`[TEST]`) are kept in the name."""
    state: str | None = None
    priority: str | None = None
    scope = ""
    kept: list[str] = []
    pos = 0
    while match := _BRACKET.match(title, pos):
        inner = match.group(1).strip()
        pos = match.end()
        word, where = _state_of(inner)
        if state is None and word.lower() in STATES:
            state, scope = word, where
        elif priority is None and _PRIORITY.match(inner):
            priority = inner.upper()
        else:
            kept.append(f"[{inner}]")
    name = " ".join([*kept, title[pos:].strip()]).strip()
    return TitleParts(state=state, priority=priority, scope=scope, name=name or title.strip())


def _state_of(inner: str) -> tuple[str, str]:
    """`Triggered on {host:a}` → ("Triggered", "host:a"); `Recovered` → ("Recovered", "")."""
    head, sep, tail = inner.partition(" on {")
    if sep and tail.endswith("}"):
        return " ".join(head.split()), tail[:-1].strip()
    return " ".join(inner.split()), ""


def is_recovery(transition: str) -> bool:
    """True for Recovered, Warn Recovered and No Data Recovered."""
    return transition.strip().lower().endswith("recovered")
