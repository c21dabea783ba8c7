"""Answering the person who clicked an approval or verify button: only them, whatever the channel lets us do."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from slack_bolt.async_app import AsyncRespond

from bot.approvals.ports import Reply, ReplyKind
from bot.errors import UpstreamError
from bot.slack.gateway import Priority, SlackGateway

log = logging.getLogger(__name__)

# A button's flow: (the button's value, the clicker's user id) -> the reply for the clicker.
Flow = Callable[[str, str], Awaitable[Reply]]


def reply_text(reply: Reply) -> str:
    """What the clicker reads: a refusal says so first."""
    return f":no_entry: Refused: {reply.text}" if reply.kind is ReplyKind.REFUSED else reply.text


async def answer_clicker(gateway: SlackGateway, respond: AsyncRespond, channel: str, user: str, reply: Reply) -> None:
    """Tell the clicker privately: an ephemeral message, else through the click's response_url."""
    text = reply_text(reply)
    try:
        await gateway.call("chat.postEphemeral", Priority.APPROVAL, channel=channel, user=user, text=text)
    except UpstreamError as exc:
        # chat.postEphemeral needs the clicker in the channel; the click's response_url reaches them anyway.
        log.info("ephemeral via response_url", extra={"reason": str(exc)})
        await respond(text=text, response_type="ephemeral", replace_original=False)
