"""Import on-call rotas kept elsewhere as iCalendar (ICS): each VEVENT is one person's shift."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

from bot.errors import InvalidInput
from bot.escalation.schedule import Schedule, Shift, ShiftList

SLACK = timedelta(days=1)


def parse_calendar(text: str | bytes) -> Any:
    """Parse ICS text; raises InvalidInput when it is not a calendar."""
    try:
        return icalendar.Calendar.from_ical(text)
    except ValueError as exc:
        raise InvalidInput(f"not an iCalendar file: {exc}") from exc


def person_of(event: Any, people: Mapping[str, str]) -> str | None:
    """The person an event names: its first ATTENDEE (e-mail or CN), else its SUMMARY, mapped through `people`."""
    attendees = event.get("ATTENDEE")
    if attendees is not None:
        first = attendees[0] if isinstance(attendees, list) else attendees
        email = str(first).removeprefix("mailto:").removeprefix("MAILTO:")
        cn = str(first.params.get("CN", "")) if hasattr(first, "params") else ""
        for candidate in (email, cn):
            if candidate in people:
                return people[candidate]
        return email or cn or None
    summary = str(event.get("SUMMARY", "")).strip()
    return people.get(summary, summary) or None


def _instant(value: date | datetime, tz: ZoneInfo) -> datetime:
    # All-day events start at local midnight; floating times are read in the schedule's zone.
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(0), tzinfo=tz)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


def _end_of(event: Any, start: datetime, tz: ZoneInfo) -> datetime:
    if event.get("DTEND") is not None:
        return _instant(event["DTEND"].dt, tz)
    if event.get("DURATION") is not None:
        duration: timedelta = event["DURATION"].dt
        return start + duration
    return start + timedelta(days=1)


@dataclass(frozen=True)
class IcsLayer:
    """A layer backed by a calendar; recurring events are expanded on demand."""

    name: str
    calendar: Any
    tz: ZoneInfo
    people: Mapping[str, str]

    def shifts_between(self, start: datetime, end: datetime) -> list[Shift]:
        """Every shift overlapping [start, end)."""
        out = []
        # The library reads all-day and floating events in the query's zone, not ours: widen, then filter.
        for event in recurring_ical_events.of(self.calendar).between(start - SLACK, end + SLACK):
            user = person_of(event, self.people)
            if user is None:
                continue
            begins = _instant(event["DTSTART"].dt, self.tz)
            shift = Shift(user, begins, _end_of(event, begins, self.tz))
            if shift.start < end and shift.end > start:
                out.append(shift)
        return sorted(out, key=lambda s: (s.start, s.user))

    def user_at(self, at: datetime) -> str | None:
        """The user of the latest-starting event covering `at`."""
        return ShiftList(self.name, tuple(self.shifts_between(at, at + timedelta(seconds=1)))).user_at(at)

    def boundaries(self, start: datetime, end: datetime) -> list[datetime]:
        """Event starts and ends in (start, end]."""
        return ShiftList(self.name, tuple(self.shifts_between(start, end))).boundaries(start, end)

    def to_shift_list(self, start: datetime, end: datetime) -> ShiftList:
        """The expanded shifts of a window, e.g. to use them as overrides."""
        return ShiftList(self.name, tuple(self.shifts_between(start, end)))


def ics_layer(name: str, text: str | bytes, tz: ZoneInfo, people: Mapping[str, str] | None = None) -> IcsLayer:
    """A schedule layer from ICS text."""
    return IcsLayer(name, parse_calendar(text), tz, dict(people or {}))


def ics_schedule(name: str, text: str | bytes, tz: ZoneInfo, people: Mapping[str, str] | None = None) -> Schedule:
    """A whole schedule from one ICS file."""
    return Schedule(name, tz, (ics_layer(name, text, tz, people),))
