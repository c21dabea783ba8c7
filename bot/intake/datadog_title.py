"""Datadog's notification title: the alert state, priority and scope it carries in square brackets.

Datadog's default webhook payload has no `$ALERT_TRANSITION`; the state is only in the title's
prefix, e.g. `[Triggered on {host:web-3}] High error rate`, `[P2] [Recovered] Unauthorized access`,
`[Warn on {…}]`, `[No Data on {…}]`, `[Re-Triggered on {…}]`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# One leading `[...]` group and the rest of the title.
_BRACKET = re.compile(r"^\s*\[([^\]]*)\]\s*")
_STATE = re.compile(r"^(?P<state>[A-Za-z][A-Za-z -]*?)(?:\s+on\s+\{(?P<scope>.*)\})?\s*$", re.S)
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
    rest = title
    kept: list[str] = []
    while match := _BRACKET.match(rest):
        inner = match.group(1).strip()
        rest = rest[match.end() :]
        found = _STATE.match(inner)
        if state is None and found and found.group("state").strip().lower() in STATES:
            state = found.group("state").strip()
            scope = (found.group("scope") or "").strip()
        elif priority is None and _PRIORITY.match(inner):
            priority = inner.upper()
        else:
            kept.append(f"[{inner}]")
    name = " ".join([*kept, rest.strip()]).strip()
    return TitleParts(state=state, priority=priority, scope=scope, name=name or title.strip())


def is_recovery(transition: str) -> bool:
    """True for Recovered, Warn Recovered and No Data Recovered."""
    return transition.strip().lower().endswith("recovered")
