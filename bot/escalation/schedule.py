"""On-call schedules: rotations at local wall-clock hand-off times, layers, overrides.

Every instant is compared in UTC: Python compares two datetimes that share a tzinfo by wall clock,
which is wrong across a DST change. A hand-off time that does not exist on a spring-forward day
happens at the same offset as before the change (02:30 → 03:30 CEST); one that exists twice on a
fall-back day happens at its first occurrence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, NamedTuple, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.errors import InvalidInput

MAX_BOUNDARIES = 10_000


class ShiftSource(Protocol):
    """One layer of a schedule: who it puts on call at an instant, and where that may change."""

    @property
    def name(self) -> str:
        """The layer's name."""
        ...

    def user_at(self, at: datetime) -> str | None:
        """The user this layer puts on call at `at`, if anyone."""
        ...

    def boundaries(self, start: datetime, end: datetime) -> list[datetime]:
        """Instants in (start, end] where this layer's answer may change."""
        ...


class NextShift(NamedTuple):
    """Who comes on call next and when."""

    user: str
    starts_at: datetime


@dataclass(frozen=True)
class Shift:
    """One person on call from `start` (inclusive) to `end` (exclusive), UTC."""

    user: str
    start: datetime
    end: datetime


def zone(name: str) -> ZoneInfo:
    """The IANA time zone; raises InvalidInput on an unknown name."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"unknown time zone {name!r}", fields=["timezone"]) from exc


def wall_clock(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of local wall-clock `at` on `day` in `tz` (fold 0 for gaps and overlaps)."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def _check_zone(name: str | None) -> str | None:
    try:
        return None if name is None else zone(name).key
    except InvalidInput as exc:
        raise ValueError(exc.message) from exc


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise InvalidInput("schedule lookups need a timezone-aware time")
    return at.astimezone(UTC)


@dataclass(frozen=True)
class Rotation:
    """Participants take turns, handing off at a local wall-clock time every `period_days`."""

    name: str
    participants: tuple[str, ...]
    start: date
    handoff: time
    tz: ZoneInfo
    period_days: int

    def shift_start(self, n: int) -> datetime:
        """UTC start of shift number n (0 is the first)."""
        return wall_clock(self.start + timedelta(days=n * self.period_days), self.handoff, self.tz)

    def shift_index(self, at: datetime) -> int:
        """Number of the shift running at `at`; negative before the rotation starts."""
        at = _aware(at)
        n = (at.astimezone(self.tz).date() - self.start).days // self.period_days
        while self.shift_start(n) > at:
            n -= 1
        while self.shift_start(n + 1) <= at:
            n += 1
        return n

    def user_at(self, at: datetime) -> str | None:
        """The participant on shift at `at`."""
        n = self.shift_index(at)
        return self.participants[n % len(self.participants)] if n >= 0 else None

    def boundaries(self, start: datetime, end: datetime) -> list[datetime]:
        """Hand-off instants in (start, end]."""
        n = max(self.shift_index(start) + 1, 0)
        out: list[datetime] = []
        while (t := self.shift_start(n)) <= _aware(end) and len(out) < MAX_BOUNDARIES:
            out.append(t)
            n += 1
        return out


@dataclass(frozen=True)
class ShiftList:
    """Fixed shifts (overrides, or a rota imported from elsewhere); the latest-starting one wins."""

    name: str
    shifts: tuple[Shift, ...] = ()

    def user_at(self, at: datetime) -> str | None:
        """The user of the latest-starting shift covering `at`."""
        at = _aware(at)
        covering = [s for s in self.shifts if s.start <= at < s.end]
        return max(covering, key=lambda s: s.start).user if covering else None

    def boundaries(self, start: datetime, end: datetime) -> list[datetime]:
        """Shift starts and ends in (start, end]."""
        lo, hi = _aware(start), _aware(end)
        return sorted({t for s in self.shifts for t in (s.start, s.end) if lo < t <= hi})


@dataclass(frozen=True)
class Schedule:
    """Layers from lowest to highest, then overrides on top; the highest layer with someone wins."""

    name: str
    tz: ZoneInfo
    layers: tuple[ShiftSource, ...]
    overrides: ShiftList = field(default_factory=lambda: ShiftList("overrides"))

    def stack(self) -> list[ShiftSource]:
        """Layers from highest to lowest priority."""
        return [self.overrides, *reversed(self.layers)]


def on_call(schedule: Schedule, at: datetime) -> str | None:
    """Who is on call at `at`: the highest layer that has someone."""
    for layer in schedule.stack():
        user = layer.user_at(at)
        if user is not None:
            return user
    return None


def next_shift(schedule: Schedule, at: datetime, horizon: timedelta = timedelta(days=90)) -> NextShift | None:
    """The next person (other than the one on call at `at`) and the instant they take over."""
    current = on_call(schedule, at)
    end = _aware(at) + horizon
    instants = sorted({t for layer in schedule.stack() for t in layer.boundaries(at, end)})
    for t in instants:
        user = on_call(schedule, t)
        if user is not None and user != current:
            return NextShift(user, t)
    return None


# -- configuration (runbooks/escalation/schedules.yaml) -----------------------


class RotationConfig(BaseModel):
    """A daily or weekly rotation as written in YAML."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["daily", "weekly"]
    participants: list[str] = Field(min_length=1)
    start: date
    handoff: time = time(9, 0)
    shift_length: int = Field(1, ge=1, description="days or weeks per shift")
    timezone: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return _check_zone(value)

    def build(self, name: str, default_tz: str) -> Rotation:
        """The runtime rotation."""
        unit = 1 if self.type == "daily" else 7
        tz = zone(self.timezone or default_tz)
        return Rotation(name, tuple(self.participants), self.start, self.handoff, tz, unit * self.shift_length)


class OverrideConfig(BaseModel):
    """One person covering a time range."""

    model_config = ConfigDict(extra="forbid")

    user: str
    start: AwareDatetime
    end: AwareDatetime

    @model_validator(mode="after")
    def _ordered(self) -> OverrideConfig:
        if self.end <= self.start:
            raise ValueError("override end must be after its start")
        return self

    def build(self) -> Shift:
        """The runtime shift."""
        return Shift(self.user, self.start.astimezone(UTC), self.end.astimezone(UTC))


class LayerConfig(BaseModel):
    """A layer: a rotation, or an ICS file (path relative to the YAML file)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    rotation: RotationConfig | None = None
    ics: str | None = None
    people: dict[str, str] = Field(default_factory=dict, description="ICS name or e-mail → Slack user id")

    @model_validator(mode="after")
    def _one_source(self) -> LayerConfig:
        if (self.rotation is None) == (self.ics is None):
            raise ValueError("a layer needs exactly one of rotation or ics")
        return self


class ScheduleConfig(BaseModel):
    """One schedule as written in YAML."""

    model_config = ConfigDict(extra="forbid")

    description: str = ""
    timezone: str = "UTC"
    layers: list[LayerConfig] = Field(min_length=1)
    overrides: list[OverrideConfig] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return _check_zone(value)


class SchedulesFile(BaseModel):
    """The whole schedules.yaml."""

    model_config = ConfigDict(extra="forbid")

    schedules: dict[str, ScheduleConfig] = Field(default_factory=dict)
