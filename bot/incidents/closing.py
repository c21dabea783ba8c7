"""Closing an incident: what must exist first, the durable archive timer, and unarchiving on reopen.

The archive is a durable timer (bot/escalation/timers.py) armed when the incident closes, so it fires
once across replicas and survives restarts. It is armed without the incident's timer group on purpose:
ending an incident cancels every timer of that group (escalation, reminders), and the archive timer
must outlive the end. Its handler is idempotent: an incident reopened meanwhile is left alone, and a
channel already archived counts as archived.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.alerts import utcnow
from bot.escalation.scheduler import FiredTimer, TimerScheduler
from bot.escalation.timers import TimerStore
from bot.incidents.models import EventType, Incident, Status, TimelineEvent
from bot.incidents.store import IncidentStore

log = logging.getLogger(__name__)

ARCHIVE_TIMER = "archive-channel"
POSTMORTEM_LINK = "postmortem"
CHANNEL_ARCHIVED = "channel_archived"
CHANNEL_UNARCHIVED = "channel_unarchived"
REQUIREMENTS = ("postmortem", "followups")


class ChannelArchiver(Protocol):
    """The chat side: archive and unarchive a channel; either is a no-op when already so."""

    async def archive(self, channel_id: str) -> None:
        """Archive the channel (already archived is fine)."""
        ...

    async def unarchive(self, channel_id: str) -> None:
        """Unarchive the channel (not archived is fine)."""
        ...


def parse_requirements(value: str) -> tuple[str, ...]:
    """`postmortem,followups` → the known requirement names, in a stable order; `none` or '' → ()."""
    words = {w.strip().lower() for w in value.split(",")}
    return tuple(r for r in REQUIREMENTS if r in words)


def missing_for_close(incident: Incident, followups: int, required: Sequence[str]) -> list[str]:
    """Which of the required things the incident lacks: a post-mortem draft link, follow-ups."""
    missing = []
    if "postmortem" in required and not incident.links.get(POSTMORTEM_LINK):
        missing.append("postmortem")
    if "followups" in required and followups == 0:
        missing.append("followups")
    return missing


def archive_timer_id(incident_id: str) -> str:
    """The archive timer's id: one per incident, so arming again replaces it."""
    return f"{ARCHIVE_TIMER}:{incident_id}"


@dataclass
class ArchiveTimers:
    """Arms the archive when an incident closes, archives when it fires, unarchives on reopen."""

    store: IncidentStore
    timers: TimerStore
    archiver: ChannelArchiver
    after: timedelta = timedelta(hours=24)
    clock: Callable[[], datetime] = utcnow

    def register(self, scheduler: TimerScheduler) -> None:
        """Route the archive timer to `on_archive_timer`."""
        scheduler.register(ARCHIVE_TIMER, self.on_archive_timer)

    async def incident_closed(self, incident: Incident) -> datetime:
        """Arm (or re-arm) the archive `after` from now; returns when it is due."""
        due = self.clock() + self.after
        await self.timers.arm(archive_timer_id(incident.id), due, ARCHIVE_TIMER, {"incident": incident.id})
        return due

    async def on_archive_timer(self, timer: FiredTimer) -> None:
        """Archive the channel of a still-closed incident and record it once."""
        incident = await self.store.get_incident(str(timer.payload.get("incident", "")))
        if incident is None or incident.status is not Status.CLOSED or not incident.channel_id:
            return  # reopened meanwhile, or never had a channel
        await self.archiver.archive(incident.channel_id)
        await self._record(incident.id, CHANNEL_ARCHIVED, "channel archived")

    async def incident_reopened(self, incident: Incident) -> None:
        """Cancel a pending archive and unarchive the channel when it was archived."""
        await self.timers.cancel(archive_timer_id(incident.id))
        if incident.channel_id and await self._archived(incident.id):
            await self.archiver.unarchive(incident.channel_id)
            await self._record(incident.id, CHANNEL_UNARCHIVED, "channel unarchived")

    async def _archived(self, incident_id: str) -> bool:
        state = None
        for event in await self.store.read_timeline(incident_id):
            if event.data.get("kind") in (CHANNEL_ARCHIVED, CHANNEL_UNARCHIVED):
                state = event.data["kind"]
        return state == CHANNEL_ARCHIVED

    async def _record(self, incident_id: str, kind: str, summary: str) -> None:
        # A repeated timer run (lease lost after the archive) must not write the event twice.
        if (await self._archived(incident_id)) == (kind == CHANNEL_ARCHIVED):
            return
        event = TimelineEvent(EventType.MESSAGE, incident_id, summary, data={"kind": kind})
        await self.store.append_timeline(event)
        log.info(summary, extra={"incident": incident_id})
