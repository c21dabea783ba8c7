"""Bolt listeners: thin edges that ack at once, then call into commands and flows."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.services import BotServices
from bot.slack import (  # noqa: F401  (registers /incident)
    approval_listeners,
    close_commands,
    escalation_listeners,
    followup_commands,
    incident_commands,
    lifecycle_listeners,
    pins,
    roles,
    verify_listeners,
)
from bot.slack.clicks import ack_timed
from bot.slack.commands import BlockReply, dispatch
from bot.slack.errors import reply_for_error
from bot.slack.escape import from_slack
from bot.slack.stale_actions import register as register_stale_actions

log = logging.getLogger(__name__)


def register(app: AsyncApp, services: BotServices) -> None:
    """Attach every listener to the Bolt app."""

    @app.command("/incident")
    async def handle_incident_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        await ack_timed(ack, "slash_commands")
        try:
            typed = from_slack(command.get("text", ""))  # the edge in: Slack's &amp; &lt; &gt; undone, once
            trigger = str(command.get("trigger_id", ""))
            text = await dispatch(typed, command["user_id"], command["channel_id"], services, trigger)
        except Exception as exc:
            text = reply_for_error(exc)
        if text:  # empty when a modal opened in answer
            blocks = text.blocks if isinstance(text, BlockReply) else None
            await respond(text=text, blocks=blocks, response_type="ephemeral")

    approval_listeners.register(app, services)
    lifecycle_listeners.register(app, services)
    escalation_listeners.register(app, services)
    verify_listeners.register(app, services)
    roles.register(app, services)
    pins.register(app, services)
    close_commands.register(app, services)
    register_stale_actions(app)  # keep last: it answers every click no listener above claimed

    @app.error
    async def handle_error(error: Exception, body: dict[str, Any]) -> None:
        log.error("bolt listener error", exc_info=error, extra={"type": body.get("type")})
