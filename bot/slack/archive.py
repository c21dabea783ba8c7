"""Archiving and unarchiving incident channels through the gateway; either is fine when already done."""

from __future__ import annotations

from bot.errors import UpstreamError
from bot.slack.gateway import SlackGateway


class SlackChannelArchiver:
    """conversations.archive / conversations.unarchive, idempotent."""

    def __init__(self, gateway: SlackGateway) -> None:
        self.gateway = gateway

    async def archive(self, channel_id: str) -> None:
        """Archive the channel; `already_archived` counts as done."""
        await self._call("conversations.archive", channel_id, "already_archived")

    async def unarchive(self, channel_id: str) -> None:
        """Unarchive the channel; `not_archived` counts as done."""
        await self._call("conversations.unarchive", channel_id, "not_archived")

    async def _call(self, method: str, channel_id: str, done_already: str) -> None:
        try:
            await self.gateway.call(method, channel=channel_id)
        except UpstreamError as exc:
            if exc.details.get("slack_error") != done_already:
                raise
