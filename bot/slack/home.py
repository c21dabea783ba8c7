"""The App Home tab: open incidents, who is on call now and next, and a button to declare."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.alerts import utcnow
from bot.errors import BotError
from bot.escalation.loader import EscalationConfig
from bot.escalation.schedule import next_shift, on_call
from bot.incidents.models import Incident
from bot.slack.blocks import SEVERITY_ICON, STATUS_ICON
from bot.slack.declare import open_declare_modal
from bot.slack.escape import escape_text, truncate

if TYPE_CHECKING:
    from bot.services import BotServices

log = logging.getLogger(__name__)

HOME_DECLARE = "home_declare"
# Slack allows 100 blocks in a Home tab; the rest of the page needs about a dozen.
MAX_INCIDENTS = 60
MAX_SCHEDULES = 20


def age_text(since: datetime, now: datetime) -> str:
    """A short age: 45 s, 12 min, 3 h 5 min, 2 d 4 h."""
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def incident_line(incident: Incident, now: datetime) -> str:
    """One incident: id, severity, lifecycle and communication status, title, commander, age, channel."""
    commander = f"<@{incident.commander}>" if incident.commander else "_no commander_"
    where = f" · <#{incident.channel_id}>" if incident.channel_id else ""
    return (
        f"{SEVERITY_ICON[incident.severity.value]} *{incident.id}* {incident.severity.value} · "
        f"{STATUS_ICON[incident.status]} {incident.status.value} · {incident.comm_status.value}\n"
        f"{truncate(escape_text(incident.title), 200)}\n"
        f"commander {commander} · open {age_text(incident.triggered_at, now)}{where}"
    )


def oncall_lines(config: EscalationConfig | None, now: datetime) -> list[str]:
    """One line per schedule: who is on call now and who is next, from when."""
    if config is None:
        return ["_Paging is not configured: no escalation policies._"]
    lines = []
    for name in sorted(config.schedules)[:MAX_SCHEDULES]:
        schedule = config.schedules[name]
        current = on_call(schedule, now)
        upcoming = next_shift(schedule, now)
        who = f"<@{current}>" if current else "_nobody_"
        later = f" · next <@{upcoming.user}> from {upcoming.starts_at:%a %d %b %H:%M %Z}" if upcoming else ""
        lines.append(f"`{escape_text(name)}`: {who}{later}")
    return lines or ["_No on-call schedule is configured._"]


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, 3000)}}


def home_view(incidents: Sequence[Incident], config: EscalationConfig | None, now: datetime) -> dict[str, Any]:
    """The Home tab view (type home), within Slack's block limit."""
    declare = {
        "type": "button",
        "action_id": HOME_DECLARE,
        "text": {"type": "plain_text", "text": "Declare an incident"},
        "style": "danger",
        "value": "declare",
    }
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Incidents"}},
        {"type": "actions", "block_id": "home_actions", "elements": [declare]},
        {"type": "header", "text": {"type": "plain_text", "text": f"Open incidents ({len(incidents)})"}},
    ]
    ordered = sorted(incidents, key=lambda i: (i.severity.rank, i.triggered_at))
    blocks += [_section(incident_line(i, now)) for i in ordered[:MAX_INCIDENTS]]
    if len(ordered) > MAX_INCIDENTS:
        blocks.append(_section(f"…and {len(ordered) - MAX_INCIDENTS} more: `/incident list` shows them all."))
    if not ordered:
        blocks.append(_section("No open incidents."))
    blocks.append({"type": "header", "text": {"type": "plain_text", "text": "On call"}})
    blocks.append(_section("\n".join(oncall_lines(config, now))))
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"Updated {now:%H:%M UTC}"}]})
    return {"type": "home", "blocks": blocks}


async def publish_home(services: BotServices, user: str, now: datetime | None = None) -> None:
    """Publish the Home tab for one person."""
    incidents = await services.store.list_open_incidents()
    view = home_view(incidents, services.escalation_config, now or utcnow())
    await services.gateway.call("views.publish", user_id=user, view=view)


def register(app: AsyncApp, services: BotServices) -> None:
    """Attach the Home tab event and its declare button."""

    @app.event("app_home_opened")
    async def handle_app_home_opened(event: dict[str, Any]) -> None:
        if event.get("tab", "home") != "home":
            return
        try:
            await publish_home(services, str(event["user"]))
        except BotError as exc:
            log.warning("home tab not published", extra={"user": event.get("user"), "error": str(exc)})

    @app.action(HOME_DECLARE)
    async def handle_home_declare(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        try:
            await open_declare_modal(services, str(body.get("trigger_id", "")), body["user"]["id"])
        except BotError as exc:
            log.warning("cannot open the declare form", extra={"error": str(exc)})
