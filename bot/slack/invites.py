"""Bring responders into the incident channel: the paged, the commander and approvers who click."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from bot.errors import UpstreamError
from bot.slack.gateway import Priority, SlackGateway

log = logging.getLogger(__name__)


async def invite_responders(gateway: SlackGateway, channel: str | None, users: Iterable[str]) -> None:
    """Invite each user (one call each, so one who is already in does not fail the others); never raises."""
    if not channel:
        return
    for user in dict.fromkeys(u for u in users if u):
        try:
            await gateway.call("conversations.invite", Priority.APPROVAL, channel=channel, users=user)
        except UpstreamError as exc:
            # already_in_channel is the common answer; anything else is worth a line but must not stop the caller.
            if "already_in_channel" not in str(exc):
                log.warning("cannot invite %s to %s: %s", user, channel, exc)
