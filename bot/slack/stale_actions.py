"""Clicks on buttons the bot no longer knows (old messages, retired action ids): ack them, tell the clicker."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

log = logging.getLogger(__name__)

STALE_TEXT = (
    ":information_source: This button is no longer active; nothing was done. "
    "Use the buttons of the latest message, or `/incident help`."
)
ANY_ACTION = re.compile(r".*", re.DOTALL)


def clicked_action_id(body: dict[str, Any]) -> str:
    """The action_id (or a legacy attachment's callback_id) of the click, for the log."""
    actions = body.get("actions") or [{}]
    first = actions[0] if isinstance(actions[0], dict) else {}
    return str(first.get("action_id") or first.get("name") or body.get("callback_id") or "?")


def register(app: AsyncApp) -> None:
    """Add the catch-all action listener; register it LAST, since Bolt runs only the first listener that matches."""

    @app.action(ANY_ACTION)
    async def handle_stale_action(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()  # Slack shows the person an error for a click that is never acknowledged
        log.info("click on an action the bot does not know", extra={"action_id": clicked_action_id(body)})
        await respond(text=STALE_TEXT, response_type="ephemeral", replace_original=False)
