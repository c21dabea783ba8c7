"""`/oncall [service]`: who is on call now and who is next, from the escalation policy's schedules."""

from __future__ import annotations

from datetime import datetime

from bot.escalation.loader import EscalationConfig
from bot.escalation.policy import ScheduleTarget
from bot.escalation.schedule import next_shift, on_call
from bot.slack.escape import escape_text


def schedules_for(config: EscalationConfig, service: str | None) -> list[str]:
    """Schedule names in escalation order for the service's policy, or every schedule without a service."""
    if not service:
        return sorted(config.schedules)
    policy = config.policy_for(service)
    names: list[str] = []
    for level in policy.levels:
        names += [t.schedule for t in level.targets if isinstance(t, ScheduleTarget) and t.schedule not in names]
    return names


def oncall_text(config: EscalationConfig, service: str | None, now: datetime) -> str:
    """The reply: one line per schedule with who is on now and who is next, and when."""
    names = schedules_for(config, service)
    title = f"*On call for {escape_text(service)}*" if service else "*On call now*"
    if service:
        title += f" (policy `{config.book.policy_name_for(service)}`)"
    lines = [title]
    for name in names:
        schedule = config.schedules[name]
        current = on_call(schedule, now)
        who = f"<@{current}>" if current else "_nobody_"
        upcoming = next_shift(schedule, now)
        later = f" · next <@{upcoming.user}> from {upcoming.starts_at:%a %d %b %H:%M %Z}" if upcoming else ""
        lines.append(f"• `{name}`: {who}{later}")
    if len(lines) == 1:
        lines.append("No schedule is configured for this service.")
    return "\n".join(lines)
