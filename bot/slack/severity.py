"""Severity in Slack: `/incident severity P1..P4` and the header menus (severity and communication status)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.alerts import Severity
from bot.errors import BotError, InvalidInput, UpstreamError
from bot.escalation.severity import severity_changed
from bot.incidents.changes import change_severity_flow, parse_comm_status, parse_severity
from bot.incidents.models import Incident
from bot.slack import blocks as render
from bot.slack.access_gate import gate_of
from bot.slack.clicks import ack_timed
from bot.slack.comm_status import COMM_STATUS_ACTION, apply_comm_status
from bot.slack.commands import CommandContext, is_incident_id, subcommand
from bot.slack.header_controls import HeaderAction, read_choice
from bot.slack.incident_commands import target_incident

if TYPE_CHECKING:
    from bot.services import BotServices

log = logging.getLogger(__name__)
SEVERITY_ACTION = "severity"


@subcommand("severity", "severity P1-P4 [INC-n]", "change the severity: pages, updates header, topic, status page")
async def handle_severity(ctx: CommandContext) -> str:
    """Change the incident's severity."""
    word = next((a for a in ctx.args if not is_incident_id(a)), None)
    if word is None:
        raise InvalidInput("name the severity: `/incident severity P1`", ["severity"])
    ctx.args.remove(word)
    severity = parse_severity(word)
    incident = await target_incident(ctx, SEVERITY_ACTION)
    return await apply_severity(ctx.services, incident, severity, ctx.user_id)


async def apply_severity(services: BotServices, incident: Incident, severity: Severity, actor: str) -> str:
    """Record the change, re-evaluate the escalation and the status page, refresh header, topic and announcement."""
    change = await change_severity_flow(services.store, incident.id, severity, actor)
    if not change.changed or change.old is None:
        return f"{incident.id} is already {severity.value}."
    updated = change.incident
    escalation = services.flows.escalation
    if escalation is not None:
        # Awaited, not spawned: a page the new severity calls for is armed before the reply.
        await severity_changed(escalation.escalator, updated, Severity(change.old))
    services.tasks.spawn(services.notifier.incident_updated(updated), "header", updated.id)
    services.tasks.spawn(refresh_announcement(services, updated), "announcement", updated.id)
    page = ""
    if services.status_page is not None:
        # Queued (a durable job per backend) before the reply; a published incident's page follows it.
        page = " " + await services.status_page.severity_changed(updated, Severity(change.old), actor) + "."
    return f"{updated.id} severity {change.old} → {severity.value} by <@{actor}>.{page}"


async def refresh_announcement(services: BotServices, incident: Incident) -> None:
    """Edit the incident's announcement in INCIDENTS_CHANNEL to show the current severity."""
    channel = services.settings.incidents_channel
    fresh = await services.store.get_incident(incident.id) or incident
    if not channel or not fresh.announcement_ts or not fresh.channel_id:
        return
    text = f"{render.SEVERITY_ICON[fresh.severity.value]} {render.header_text(fresh)} → <#{fresh.channel_id}>"
    try:
        await services.gateway.update_message(channel, fresh.announcement_ts, text)
    except UpstreamError as exc:
        log.warning("announcement not updated", extra={"incident": fresh.id, "error": str(exc)})


async def _menu_choice(services: BotServices, body: dict[str, Any]) -> tuple[Incident, str, str, str]:
    action = body["actions"][0]
    incident_id, choice = read_choice(str((action.get("selected_option") or {}).get("value", "")))
    if not incident_id:
        raise InvalidInput("that menu choice is not one the bot offered")
    incident = await services.store.get_incident_or_raise(incident_id)
    channel = str((body.get("channel") or {}).get("id", ""))
    return incident, choice, body["user"]["id"], channel


def register(app: AsyncApp, services: BotServices) -> None:
    """Attach the header menus."""

    @app.action(HeaderAction.SEVERITY.value)
    async def handle_severity_menu(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack_timed(ack)
        try:
            incident, choice, user, channel = await _menu_choice(services, body)
            await gate_of(services).require(user, SEVERITY_ACTION, incident, channel)
            text = await apply_severity(services, incident, parse_severity(choice), user)
        except BotError as exc:
            text = f":warning: {exc}"
        await respond(text=text, response_type="ephemeral", replace_original=False)

    @app.action(HeaderAction.COMM_STATUS.value)
    async def handle_comm_status_menu(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        try:
            incident, choice, user, channel = await _menu_choice(services, body)
            await gate_of(services).require(user, COMM_STATUS_ACTION, incident, channel)
            text = await apply_comm_status(services, incident, parse_comm_status(choice), user)
        except BotError as exc:
            text = f":warning: {exc}"
        await respond(text=text, response_type="ephemeral", replace_original=False)
