"""Incident roles on the incident record: who holds each, assignment and claims by compare-and-set, in the timeline."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from bot.alerts import utcnow
from bot.errors import BotError
from bot.incidents.models import EventType, Incident, TimelineEvent
from bot.incidents.store import IncidentStore
from bot.policy.roles_file import COMMANDER

ASSIGNED = "assigned"
CLAIMED = "claimed"


class RoleTaken(BotError):
    """A claim lost: someone else holds the role already."""


def holder(incident: Incident, role: str) -> str | None:
    """Who holds `role` now; the commander role is the incident's `commander` field."""
    return incident.commander if role == COMMANDER else incident.roles.get(role)


def holders(incident: Incident, names: list[str]) -> list[tuple[str, str | None]]:
    """(role, holder or None) for each configured role, in order."""
    return [(name, holder(incident, name)) for name in names]


@dataclass(frozen=True)
class RoleChange:
    """What an assignment did: the incident after it, who held the role before, and whether anything changed."""

    incident: Incident
    role: str
    previous: str | None
    changed: bool


def set_holder(incident: Incident, role: str, user: str, actor: str, at: datetime) -> None:
    """Write the holder; for commander also who set it and when (the approval rule `self_made_commander` reads them)."""
    if role == COMMANDER:
        incident.commander = user
        incident.commander_set_by, incident.commander_set_at = actor, at
    else:
        incident.roles = {**incident.roles, role: user}


def role_event(
    incident_id: str, role: str, user: str, previous: str | None, actor: str, how: str, at: datetime
) -> TimelineEvent:
    """The timeline entry of one assignment: who holds the role now, who held it before, who made the change."""
    data = {"role": role, "old": previous, "new": user, "by": actor, "how": how}
    return TimelineEvent(EventType.ROLE, incident_id, f"{role} → <@{user}>", actor, data, at)


async def assign_role(
    store: IncidentStore,
    incident_id: str,
    role: str,
    user: str,
    actor: str,
    *,
    claim: bool = False,
    clock: Callable[[], datetime] = utcnow,
) -> RoleChange:
    """Give `role` to `user` by compare-and-set; a claim (`claim=True`) raises RoleTaken when someone else holds it.

    Assigning replaces the holder (the previous one is in the timeline event); a claim only fills an empty role,
    so of two people racing to claim, exactly one wins whatever the interleaving.
    """
    seen: dict[str, str | None] = {}

    def mutate(incident: Incident) -> list[TimelineEvent]:
        previous = holder(incident, role)
        seen["previous"] = previous
        if previous == user:
            return []
        if claim and previous is not None:
            raise RoleTaken(f"{role} is already held by <@{previous}>", role=role, holder=previous)
        now = clock()
        set_holder(incident, role, user, actor, now)
        return [role_event(incident.id, role, user, previous, actor, CLAIMED if claim else ASSIGNED, now)]

    updated = await store.update_incident(incident_id, mutate)
    previous = seen.get("previous")
    return RoleChange(updated, role, previous, previous != user)


@dataclass(frozen=True)
class RoleSpan:
    """One person holding one role from `since` until `until` (None: still holds it)."""

    role: str
    holder: str
    since: datetime
    until: datetime | None
    by: str


def role_spans(events: Sequence[TimelineEvent], first_commander: tuple[str, datetime] | None = None) -> list[RoleSpan]:
    """Who held which role when, from `role` events and `/incident commander` field events, in order of start.

    `first_commander` is the commander set when the incident was opened by hand (no timeline event records it).
    """
    current: dict[str, RoleSpan] = {}
    spans: list[RoleSpan] = []
    if first_commander is not None:
        current[COMMANDER] = RoleSpan(COMMANDER, first_commander[0], first_commander[1], None, first_commander[0])
    for event in events:
        if event.type is EventType.ROLE:
            role, by = str(event.data.get("role")), str(event.data.get("by") or event.actor)
        elif event.type is EventType.FIELD and event.summary.startswith("commander →") and "new" in event.data:
            role, by = COMMANDER, event.actor
        else:
            continue
        new = event.data.get("new")
        if role in current:
            spans.append(replace(current.pop(role), until=event.at))
        if new:
            current[role] = RoleSpan(role, str(new), event.at, None, by)
    return sorted([*spans, *current.values()], key=lambda s: s.since)
