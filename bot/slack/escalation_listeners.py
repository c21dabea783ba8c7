"""The Slack edge of escalation: the Acknowledge button on pages and the countdown, and `/oncall`."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.alerts import utcnow
from bot.errors import BotError
from bot.policy.access import ACK_BUTTON
from bot.slack.access_gate import gate_of
from bot.slack.clicks import ack_timed
from bot.slack.escalation_blocks import EscalationAction
from bot.slack.escape import from_slack
from bot.slack.oncall import oncall_text

if TYPE_CHECKING:
    from bot.services import BotServices

log = logging.getLogger(__name__)


async def acknowledge_text(services: BotServices, incident_id: str, user: str) -> str:
    """Acknowledge through the escalation (stopping it at once) and say whether the acker had been paged."""
    escalation = services.flows.escalation
    if escalation is None:
        raise BotError("escalation is not configured on this bot")
    result = await escalation.acknowledge(incident_id, user)
    services.tasks.spawn(services.notifier.incident_updated(result.incident), "header", incident_id)
    if result.already_acknowledged:
        return f"{incident_id} was already acknowledged by <@{result.incident.acknowledged_by}>."
    note = "" if result.by_paged_target else " (you were not among those paged; recorded as such)"
    return f"{incident_id} acknowledged by <@{user}>; escalation stopped{note}."


def register(app: AsyncApp, services: BotServices) -> None:
    """Attach the escalation listeners."""

    @app.action(EscalationAction.ACK.value)
    async def handle_escalation_ack(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack_timed(ack)
        incident_id = str(body["actions"][0].get("value", ""))
        user = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id", "")
        try:
            incident = await services.store.get_incident_or_raise(incident_id)
            await gate_of(services).require(user, ACK_BUTTON, incident, channel)
            text = await acknowledge_text(services, incident_id, user)
        except BotError as exc:
            text = f":warning: {exc}"
        await respond(text=text, response_type="ephemeral", replace_original=False)

    @app.command("/oncall")
    async def handle_oncall_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        config = services.escalation_config
        if config is None:
            text = "No on-call schedules are configured (runbooks/escalation/)."
        else:
            service = from_slack(command.get("text", "")).strip() or None
            text = oncall_text(config, service, utcnow())
        await respond(text=text, response_type="ephemeral")
