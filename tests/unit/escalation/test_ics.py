"""ICS import: single and recurring events, attendees and summaries, as a layer or a whole schedule."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.errors import InvalidInput
from bot.escalation.ics import ics_layer, ics_schedule
from bot.escalation.schedule import NextShift, Rotation, Schedule, next_shift, on_call

BERLIN = ZoneInfo("Europe/Berlin")

ROTA = "\r\n".join(
    [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//test//rota//EN",
        "BEGIN:VEVENT",
        "UID:weekly@example.com",
        "DTSTAMP:20260101T000000Z",
        "SUMMARY:Friday evening cover",
        "ATTENDEE;CN=Erin Example:mailto:erin@example.com",
        "DTSTART;TZID=Europe/Berlin:20260306T180000",
        "DTEND;TZID=Europe/Berlin:20260306T230000",
        "RRULE:FREQ=WEEKLY;BYDAY=FR;COUNT=6",
        "EXDATE;TZID=Europe/Berlin:20260320T180000",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:oneoff@example.com",
        "DTSTAMP:20260101T000000Z",
        "SUMMARY:Frank Example",
        "DTSTART:20260310T080000Z",
        "DTEND:20260310T120000Z",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:allday@example.com",
        "DTSTAMP:20260101T000000Z",
        "SUMMARY:U09ZOE",
        "DTSTART;VALUE=DATE:20260401",
        "DTEND;VALUE=DATE:20260402",
        "END:VEVENT",
        "END:VCALENDAR",
        "",
    ]
)
PEOPLE = {"erin@example.com": "U05ERIN", "Frank Example": "U07FRANK"}


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_recurring_event_covers_each_occurrence_at_local_time_across_dst() -> None:
    layer = ics_layer("cover", ROTA, BERLIN, PEOPLE)
    assert layer.user_at(utc(2026, 3, 6, 17, 30)) == "U05ERIN"  # 18:30 CET
    assert layer.user_at(utc(2026, 3, 13, 21, 59)) == "U05ERIN"
    assert layer.user_at(utc(2026, 3, 13, 22, 0)) is None
    assert layer.user_at(utc(2026, 3, 20, 18, 0)) is None  # EXDATE
    # 3 April is after the change to CEST: 18:00 local is 16:00 UTC.
    assert layer.user_at(utc(2026, 4, 3, 16, 0)) == "U05ERIN"
    assert layer.user_at(utc(2026, 4, 3, 15, 59)) is None
    assert layer.user_at(utc(2026, 4, 17, 16, 30)) is None  # COUNT=6 ended on 10 April


def test_summary_and_all_day_events() -> None:
    layer = ics_layer("cover", ROTA, BERLIN, PEOPLE)
    assert layer.user_at(utc(2026, 3, 10, 9)) == "U07FRANK"
    # All-day events run from local midnight to local midnight.
    assert layer.user_at(utc(2026, 3, 31, 21, 59)) is None
    assert layer.user_at(utc(2026, 3, 31, 22, 0)) == "U09ZOE"
    assert layer.user_at(utc(2026, 4, 1, 21, 59)) == "U09ZOE"


def test_ics_as_override_layer_over_a_rotation() -> None:
    weekly = Rotation("weekly", ("U01ALICE", "U02BOB"), date(2026, 3, 2), time(9), BERLIN, 7)
    s = Schedule("payments", BERLIN, (weekly, ics_layer("cover", ROTA, BERLIN, PEOPLE)))
    assert on_call(s, utc(2026, 3, 6, 12)) == "U01ALICE"
    assert on_call(s, utc(2026, 3, 6, 18)) == "U05ERIN"
    assert next_shift(s, utc(2026, 3, 6, 12)) == NextShift("U05ERIN", utc(2026, 3, 6, 17))
    assert next_shift(s, utc(2026, 3, 6, 18)) == NextShift("U01ALICE", utc(2026, 3, 6, 22))


def test_whole_schedule_from_ics() -> None:
    s = ics_schedule("external", ROTA, BERLIN, PEOPLE)
    assert on_call(s, utc(2026, 3, 10, 9)) == "U07FRANK"
    assert next_shift(s, utc(2026, 3, 10, 9)) == NextShift("U05ERIN", utc(2026, 3, 13, 17))


def test_unmapped_attendee_falls_back_to_the_email() -> None:
    assert ics_layer("cover", ROTA, BERLIN).user_at(utc(2026, 3, 6, 18)) == "erin@example.com"


def test_not_a_calendar_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        ics_layer("bad", "this is not ics", BERLIN)
