"""`/oncall [service]`: who is on call now and who is next, from the escalation policy's schedules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.escalation.loader import EscalationConfig
from bot.escalation.policy import ScheduleTarget
from bot.escalation.schedule import Schedule, next_shift, on_call
from bot.slack.escape import escape_text

HORIZON = timedelta(days=90)


def schedules_for(config: EscalationConfig, service: str | None) -> list[str]:
    """Schedule names in escalation order for the service's policy, or every schedule without a service."""
    if not service:
        return sorted(config.schedules)
    policy = config.policy_for(service)
    names: list[str] = []
    for level in policy.levels:
        names += [t.schedule for t in level.targets if isinstance(t, ScheduleTarget) and t.schedule not in names]
    return names


def _when(at: datetime) -> str:
    return f"{at.astimezone(UTC):%a %d %b %H:%M} UTC"


def _first_handoff(schedule: Schedule, now: datetime) -> datetime | None:
    """The next instant a shift changes hands, even to the same person (a one-person rotation)."""
    end = now + HORIZON
    instants = sorted({t for layer in schedule.stack() for t in layer.boundaries(now, end)})
    return next((t for t in instants if on_call(schedule, t) is not None), None)


def schedule_line(name: str, schedule: Schedule, now: datetime) -> str:
    """`name`: who is on now until when, and who is next from when."""
    current = on_call(schedule, now)
    who = f"<@{current}>" if current else "_nobody_"
    upcoming = next_shift(schedule, now, HORIZON)
    if upcoming is not None:
        until = f" until {_when(upcoming.starts_at)}" if current else ""
        return f"• `{name}`: now {who}{until} · next <@{upcoming.user}> from {_when(upcoming.starts_at)}"
    handoff = _first_handoff(schedule, now)
    if handoff is not None and current:
        return f"• `{name}`: now {who} · next {who} again from {_when(handoff)} (nobody else in this rotation)"
    return f"• `{name}`: now {who} · next: nobody in the next {HORIZON.days} days"


def oncall_text(config: EscalationConfig, service: str | None, now: datetime) -> str:
    """The reply: one line per schedule with who is on now and who is next, with each hand-off time."""
    names = schedules_for(config, service)
    title = f"*On call for {escape_text(service)}*" if service else "*On call now*"
    if service:
        title += f" (policy `{config.book.policy_name_for(service)}`)"
    lines = [title] + [schedule_line(name, config.schedules[name], now) for name in names]
    if len(lines) == 1:
        lines.append("No schedule is configured for this service.")
    return "\n".join(lines)
