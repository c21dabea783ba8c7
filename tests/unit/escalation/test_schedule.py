"""Rotations, layers and overrides with explicit instants, across Europe/Berlin daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.errors import InvalidInput
from bot.escalation.schedule import (
    NextShift,
    Rotation,
    Schedule,
    ScheduleConfig,
    Shift,
    ShiftList,
    next_shift,
    on_call,
)

BERLIN = ZoneInfo("Europe/Berlin")
PEOPLE = ("U01ALICE", "U02BOB", "U03CAROL")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def rotation(period_days: int = 1, start: date = date(2026, 3, 23), handoff: time = time(9)) -> Rotation:
    return Rotation("r", PEOPLE, start, handoff, BERLIN, period_days)


def schedule(*layers: Rotation | ShiftList, overrides: tuple[Shift, ...] = ()) -> Schedule:
    return Schedule("s", BERLIN, tuple(layers), ShiftList("overrides", overrides))


def test_daily_handoff_follows_local_nine_across_spring_forward() -> None:
    s = schedule(rotation(period_days=1))  # 2026-03-23 Alice, 24 Bob, ... DST starts 2026-03-29
    # 28 March is CET (UTC+1): hand-off at 08:00 UTC.
    assert on_call(s, utc(2026, 3, 28, 7, 59)) == PEOPLE[4 % 3]
    assert on_call(s, utc(2026, 3, 28, 8, 0)) == PEOPLE[5 % 3]
    # 29 March is CEST (UTC+2) from 03:00 local: hand-off at 07:00 UTC, not 08:00.
    assert on_call(s, utc(2026, 3, 29, 6, 59)) == PEOPLE[5 % 3]
    assert on_call(s, utc(2026, 3, 29, 7, 0)) == PEOPLE[6 % 3]
    assert next_shift(s, utc(2026, 3, 29, 1, 0)) == NextShift(PEOPLE[6 % 3], utc(2026, 3, 29, 7, 0))


def test_weekly_handoff_across_fall_back_is_one_hour_longer() -> None:
    s = schedule(rotation(period_days=7, start=date(2026, 10, 19)))  # Mondays; DST ends 2026-10-25
    assert next_shift(s, utc(2026, 10, 19, 7, 0)) == NextShift("U02BOB", utc(2026, 10, 26, 8, 0))
    assert on_call(s, utc(2026, 10, 19, 6, 59)) is None  # before the rotation starts
    assert on_call(s, utc(2026, 10, 19, 7, 0)) == "U01ALICE"  # 09:00 CEST
    assert on_call(s, utc(2026, 10, 26, 7, 59)) == "U01ALICE"  # 08:59 CET: the shift ran 169 hours
    assert on_call(s, utc(2026, 10, 26, 8, 0)) == "U02BOB"


def test_handoff_in_the_spring_gap_happens_at_the_old_offset() -> None:
    s = schedule(rotation(period_days=1, start=date(2026, 3, 28), handoff=time(2, 30)))
    # 02:30 does not exist on 29 March; it is taken as 02:30 CET = 01:30 UTC (03:30 CEST).
    assert on_call(s, utc(2026, 3, 29, 1, 29)) == "U01ALICE"
    assert on_call(s, utc(2026, 3, 29, 1, 30)) == "U02BOB"


def test_handoff_in_the_autumn_overlap_happens_at_the_first_occurrence() -> None:
    s = schedule(rotation(period_days=1, start=date(2026, 10, 24), handoff=time(2, 30)))
    # 02:30 happens twice on 25 October; the first (CEST, 00:30 UTC) counts.
    assert on_call(s, utc(2026, 10, 25, 0, 29)) == "U01ALICE"
    assert on_call(s, utc(2026, 10, 25, 0, 30)) == "U02BOB"
    assert next_shift(s, utc(2026, 10, 25, 0, 30)) == NextShift("U03CAROL", utc(2026, 10, 26, 1, 30))


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=datetime(2026, 1, 6), max_value=datetime(2032, 12, 31), timezones=st.just(UTC)))
def test_every_weekly_shift_starts_monday_nine_berlin(at: datetime) -> None:
    r = rotation(period_days=7, start=date(2026, 1, 5))
    begins = r.shift_start(r.shift_index(at))
    local = begins.astimezone(BERLIN)
    assert (local.weekday(), local.time()) == (0, time(9))
    assert begins <= at < r.shift_start(r.shift_index(at) + 1)
    assert on_call(schedule(r), at) == PEOPLE[r.shift_index(at) % 3]


def test_override_wins_and_next_shift_returns_to_the_rotation() -> None:
    cover = Shift("U09ZOE", utc(2026, 3, 25, 12), utc(2026, 3, 25, 18))
    s = schedule(rotation(period_days=7), overrides=(cover,))
    assert on_call(s, utc(2026, 3, 25, 11, 59)) == "U01ALICE"
    assert on_call(s, utc(2026, 3, 25, 12)) == "U09ZOE"
    assert on_call(s, utc(2026, 3, 25, 18)) == "U01ALICE"
    assert next_shift(s, utc(2026, 3, 25, 13)) == NextShift("U01ALICE", utc(2026, 3, 25, 18))
    assert next_shift(s, utc(2026, 3, 25, 10)) == NextShift("U09ZOE", utc(2026, 3, 25, 12))


def test_higher_layer_wins_only_where_it_has_someone() -> None:
    nights = ShiftList("nights", (Shift("U09ZOE", utc(2026, 3, 24, 20), utc(2026, 3, 25, 6)),))
    s = schedule(rotation(period_days=7), nights)
    assert on_call(s, utc(2026, 3, 24, 19)) == "U01ALICE"
    assert on_call(s, utc(2026, 3, 24, 23)) == "U09ZOE"
    assert on_call(s, utc(2026, 3, 25, 6)) == "U01ALICE"


def test_latest_override_wins_when_two_overlap() -> None:
    a = Shift("U09ZOE", utc(2026, 3, 25, 0), utc(2026, 3, 26, 0))
    b = Shift("U08YAN", utc(2026, 3, 25, 10), utc(2026, 3, 25, 11))
    s = schedule(rotation(), overrides=(a, b))
    assert [on_call(s, utc(2026, 3, 25, h)) for h in (9, 10, 11)] == ["U09ZOE", "U08YAN", "U09ZOE"]


def test_next_shift_skips_the_same_person_and_is_none_without_change() -> None:
    solo = Rotation("solo", ("U01ALICE",), date(2026, 1, 1), time(9), BERLIN, 1)
    assert next_shift(schedule(solo), utc(2026, 3, 1)) is None


def test_naive_times_are_refused() -> None:
    with pytest.raises(InvalidInput):
        on_call(schedule(rotation()), datetime(2026, 3, 25, 12))


def test_config_builds_multi_week_shifts_and_rejects_unknown_zones() -> None:
    cfg = ScheduleConfig.model_validate(
        {
            "timezone": "Europe/Berlin",
            "layers": [
                {
                    "name": "w",
                    "rotation": {
                        "type": "weekly",
                        "shift_length": 2,
                        "participants": ["U1A", "U2B"],
                        "start": "2026-01-05",
                        "handoff": "09:00",
                    },
                }
            ],
        }
    )
    assert cfg.layers[0].rotation is not None
    r = cfg.layers[0].rotation.build("w", cfg.timezone)
    assert r.period_days == 14
    assert r.user_at(utc(2026, 1, 18, 12)) == "U1A"
    assert r.user_at(utc(2026, 1, 19, 8)) == "U2B"
    assert r.user_at(utc(2026, 1, 19, 8) - timedelta(seconds=1)) == "U1A"
    with pytest.raises(ValidationError):
        ScheduleConfig.model_validate({"timezone": "Europe/Atlantis", "layers": cfg.model_dump()["layers"]})
    with pytest.raises(ValidationError):
        ScheduleConfig.model_validate({"layers": [{"name": "empty"}]})
