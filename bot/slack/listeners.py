"""Bolt listeners: thin edges that ack at once, then call into commands and flows."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot import metrics
from bot.errors import BotError
from bot.services import BotServices
from bot.slack import approval_listeners, escalation_listeners, incident_commands  # noqa: F401  (registers /incident)
from bot.slack.commands import dispatch
from bot.slack.stale_actions import register as register_stale_actions

log = logging.getLogger(__name__)


def reply_for_error(exc: Exception) -> str:
    """A message a human can act on; unknown errors get a correlation id that is in the log."""
    if isinstance(exc, BotError):
        return f":warning: {exc}"
    ref = uuid.uuid4().hex[:8]
    log.error("unhandled error in a Slack listener", exc_info=exc, extra={"ref": ref})
    return f":boom: Something went wrong on our side (ref `{ref}`); the details are in the bot's log."


def register(app: AsyncApp, services: BotServices) -> None:
    """Attach every listener to the Bolt app."""

    @app.command("/incident")
    async def handle_incident_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        started = time.monotonic()
        await ack()
        metrics.ACK_SECONDS.labels("slash_commands").observe(time.monotonic() - started)
        try:
            text = await dispatch(command.get("text", ""), command["user_id"], command["channel_id"], services)
        except Exception as exc:
            text = reply_for_error(exc)
        await respond(text=text, response_type="ephemeral")

    approval_listeners.register(app, services)
    escalation_listeners.register(app, services)
    register_stale_actions(app)  # keep last: it answers every click no listener above claimed

    @app.error
    async def handle_error(error: Exception, body: dict[str, Any]) -> None:
        log.error("bolt listener error", exc_info=error, extra={"type": body.get("type")})
