"""Reminder timers: no status update for N minutes, no commander assigned."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from bot.alerts import utcnow
from bot.escalation.scheduler import FiredTimer, TimerScheduler
from bot.escalation.timers import TimerStore
from bot.incidents.models import Incident
from bot.incidents.store import IncidentStore

log = logging.getLogger(__name__)


class ReminderKind(StrEnum):
    """Timer kinds of reminders."""

    STATUS_UPDATE = "remind.status"
    NO_COMMANDER = "remind.commander"


class Reminder(Protocol):
    """Posts one reminder to the incident's channel."""

    async def remind(self, incident: Incident, kind: ReminderKind, reason: str) -> None:
        """Remind the channel; raise to have the reminder retried."""
        ...


def reminder_id(incident_id: str, kind: ReminderKind) -> str:
    """Timer id of one incident's reminder of `kind`."""
    return f"remind:{incident_id}:{kind.value}"


class Reminders:
    """Arms reminders, pushes the status reminder back on each update, and fires them while they apply."""

    def __init__(
        self, store: IncidentStore, timers: TimerStore, reminder: Reminder, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.store = store
        self.timers = timers
        self.reminder = reminder
        self.clock = clock

    def register(self, scheduler: TimerScheduler) -> None:
        """Route both reminder kinds to this object."""
        for kind in ReminderKind:
            scheduler.register(kind.value, self.handle_reminder)

    async def arm(self, incident_id: str, kind: ReminderKind, every: timedelta, now: datetime | None = None) -> None:
        """Remind after `every`, and again every `every` while the condition holds."""
        due = (now or self.clock()) + every
        payload = {"every_s": every.total_seconds()}
        await self.timers.arm(reminder_id(incident_id, kind), due, kind.value, payload, incident_id=incident_id)

    async def status_updated(self, incident_id: str, now: datetime | None = None) -> bool:
        """Push the status reminder back by its interval; False when none is armed."""
        record = await self.timers.get(reminder_id(incident_id, ReminderKind.STATUS_UPDATE))
        if record is None:
            return False
        every = timedelta(seconds=float(record.payload["every_s"]))
        await self.arm(incident_id, ReminderKind.STATUS_UPDATE, every, now)
        return True

    async def handle_reminder(self, timer: FiredTimer) -> None:
        """Remind if the incident is active (and, for the commander reminder, still has none), then re-arm."""
        kind = ReminderKind(timer.kind)
        incident = await self.store.get_incident(timer.incident_id or "")
        if incident is None or not incident.is_active:
            return
        if kind is ReminderKind.NO_COMMANDER and incident.commander:
            return
        every = timedelta(seconds=float(timer.payload["every_s"]))
        span = _span(every)
        reason = (
            f"no status update for {span}"
            if kind is ReminderKind.STATUS_UPDATE
            else f"no incident commander assigned after {span}"
        )
        await self.reminder.remind(incident, kind, reason)
        await self.arm(incident.id, kind, every, timer.fired_at)


def _span(every: timedelta) -> str:
    seconds = round(every.total_seconds())
    return f"{seconds // 60} minutes" if seconds >= 120 else f"{seconds} seconds"
