"""Stakeholder updates in Slack: the incident channel, and a reply under the incident's announcement."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.errors import UpstreamError
from bot.incidents.models import Incident
from bot.incidents.store import IncidentStore
from bot.incidents.updates import StakeholderUpdate, UpdateFlows
from bot.slack.escape import escape_keeping_mentions
from bot.slack.gateway import SlackGateway

if TYPE_CHECKING:
    from bot.services import BotServices

log = logging.getLogger(__name__)


class SlackUpdatePoster:
    """Implements the update flow's UpdatePoster over the gateway."""

    def __init__(self, gateway: SlackGateway, store: IncidentStore, incidents_channel: str | None) -> None:
        self.gateway = gateway
        self.store = store
        self.incidents_channel = incidents_channel

    async def post_update(self, incident: Incident, update: StakeholderUpdate) -> None:
        """The channel always; the announcement thread in the incidents channel when published."""
        fresh = await self.store.get_incident(incident.id) or incident
        line = update_line(update)
        if fresh.channel_id:
            await self.gateway.post_message(fresh.channel_id, line)
        if not update.publish or not self.incidents_channel or not fresh.announcement_ts:
            return
        try:
            await self.gateway.call(
                "chat.postMessage", channel=self.incidents_channel, text=line, thread_ts=fresh.announcement_ts
            )
        except UpstreamError as exc:
            # The channel post and the status page already carry it; a lost thread reply is logged.
            log.warning("announcement reply failed", extra={"incident": incident.id, "error": str(exc)})


def update_line(update: StakeholderUpdate) -> str:
    """One mrkdwn line for an update: a picked colleague stays a mention; `<!channel>` and links are escaped."""
    published = " · published" if update.publish else ""
    head = f":memo: *Status update* ({update.status.value}{published}) from <@{update.actor}>"
    return f"{head}: {escape_keeping_mentions(update.text)}"


def updates_of(services: BotServices) -> UpdateFlows:
    """The bot's update flows; built on the spot (no status page) when the services were assembled without them."""
    if services.updates is None:
        poster = SlackUpdatePoster(services.gateway, services.store, services.settings.incidents_channel)
        services.updates = UpdateFlows(services.store, poster, None, services.flows.escalation)
    return services.updates
