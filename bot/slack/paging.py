"""Paging over Slack (channel mention and DM, always) and pagers through the `page` hook."""

from __future__ import annotations

import logging
from datetime import datetime

from bot.alerts import utcnow
from bot.errors import BotError, UpstreamError
from bot.escalation.deliveries import Delivery, Medium, Undeliverable, Waiting
from bot.escalation.engine import Escalator
from bot.escalation.policy import TargetKind
from bot.escalation.reminders import ReminderKind
from bot.incidents.models import Incident
from bot.incidents.store import IncidentStore
from bot.settings import Settings
from bot.slack import escalation_blocks as render
from bot.slack.access_gate import remember_dm
from bot.slack.blocks import section
from bot.slack.escape import escape_text
from bot.slack.gateway import Priority, SlackGateway
from bot.slack.invites import invite_responders
from hooks import registry
from hooks.base import ActionHook, HookContext, HookKind

log = logging.getLogger(__name__)


class SlackPager:
    """Implements the escalation DeliveryPort: pager events through the `page` hook, DMs and channel posts."""

    def __init__(self, gateway: SlackGateway, store: IncidentStore, settings: Settings) -> None:
        self.gateway = gateway
        self.store = store
        self.settings = settings
        self.escalator: Escalator | None = None  # set once built, for the countdown

    async def deliver(self, delivery: Delivery, incident: Incident, late: bool) -> str:
        """Send one delivery; a Slack failure raises so the job retries; a missing channel raises Waiting."""
        if delivery.medium is Medium.PAGER:
            return await self._external_page(delivery, incident)
        if delivery.medium is Medium.NOTICE:
            channel = _opened_channel(incident)
            await self.gateway.post_message(channel, _notice_text(delivery), priority=Priority.PAGE)
            return "posted"
        blocks = _page_blocks(delivery, incident, late)
        text = _page_text(delivery, incident, late)
        if delivery.medium is Medium.DM:
            opened = await self.gateway.call("conversations.open", Priority.PAGE, users=delivery.target)
            dm = str(opened["channel"]["id"])
            await remember_dm(self.store, incident.id, dm)  # an Acknowledge click in this DM then counts
            await self.gateway.post_message(dm, text, blocks, Priority.PAGE)
            return "sent"
        channel = _opened_channel(incident)
        await self.gateway.post_message(channel, text, blocks, Priority.PAGE)
        # After the page itself, so inviting never delays it: the paged people join the incident channel.
        users = [t.id for t in delivery.targets if t.kind is TargetKind.USER]
        await invite_responders(self.gateway, channel, users)
        try:
            await self.refresh_countdown(incident)
        except BotError as exc:  # cosmetic: the next page or ack redraws it
            log.warning("countdown not refreshed", extra={"incident": incident.id, "error": str(exc)})
        return "posted"

    async def already_delivered(self, delivery: Delivery, incident: Incident) -> bool:
        """Whether Slack already holds this delivery's message (a crash after sending, before the marker)."""
        if delivery.medium is Medium.PAGER:
            return False  # the dedup key merges a repeated event upstream
        if delivery.medium is Medium.DM:
            opened = await self.gateway.call("conversations.open", Priority.PAGE, users=delivery.target)
            channel = str(opened["channel"]["id"])
        elif incident.channel_id:
            channel = incident.channel_id
        else:
            return False
        history = await self.gateway.call("conversations.history", Priority.PAGE, channel=channel, limit=100)
        texts = [str(m.get("text", "")) for m in history.get("messages", [])]
        if delivery.medium is Medium.NOTICE:
            return _notice_text(delivery) in texts
        return any(_ref_tag(delivery) in text for text in texts)

    async def _external_page(self, delivery: Delivery, incident: Incident) -> str:
        """Trigger PagerDuty or Opsgenie with the incident's dedup key; configuration problems are not retried."""
        hook = registry.get_hook_or_raise("page", HookKind.ACTION)
        config, problems = registry.validate_config(
            "page",
            {
                "provider": delivery.target,
                "summary": f"{incident.id} {incident.title}",
                "dedup_key": incident.id,
                "details": {"level": str(delivery.level), "page": delivery.page_id},
            },
        )
        if config is None or not isinstance(hook, ActionHook):
            raise Undeliverable("; ".join(problems) or "page hook unavailable")
        missing = _missing_pager_setting(self.settings, delivery.target)
        if missing:
            raise Undeliverable(f"{missing} is not set")
        ctx = HookContext(settings=self.settings, environment=incident.environment, incident_id=incident.id)
        try:
            output = await hook.execute(config, ctx)
        except UpstreamError as exc:
            status = exc.details.get("status")
            if isinstance(status, int) and 400 <= status < 500 and status not in (408, 429):
                raise Undeliverable(str(exc)) from exc  # the pager refuses this event; repeating will not help
            raise
        if not output.ok:
            raise UpstreamError(f"{delivery.target} page failed: {output.output}")
        return f"{delivery.target} accepted"

    async def refresh_countdown(self, incident: Incident, now: datetime | None = None) -> None:
        """Post or edit in place the 'no ack yet: paging @bob at 14:05 UTC' line."""
        fresh = await self.store.get_incident(incident.id) or incident
        if self.escalator is None or not fresh.channel_id:
            return
        pending = await self.escalator.pending_pages(fresh.id)
        blocks = render.countdown(fresh, pending, now or utcnow())
        text = "escalation status"
        if fresh.escalation_ts:
            await self.gateway.update_message(fresh.channel_id, fresh.escalation_ts, text, blocks)
            return
        ts = await self.gateway.post_message(fresh.channel_id, text, blocks)

        def remember(i: Incident) -> None:
            i.escalation_ts = ts

        await self.store.update_incident(fresh.id, remember)


class SlackReminder:
    """Implements the escalation Reminder: a nudge in the incident channel."""

    def __init__(self, gateway: SlackGateway) -> None:
        self.gateway = gateway

    async def remind(self, incident: Incident, kind: ReminderKind, reason: str) -> None:
        """Post the reminder; raising lets the timer retry."""
        if not incident.channel_id:
            return
        try:
            await self.gateway.post_message(incident.channel_id, reason, render.reminder(incident, reason))
        except UpstreamError:
            log.warning("reminder not posted", extra={"incident": incident.id, "kind": kind.value})
            raise


def _notice_text(delivery: Delivery) -> str:
    # The note carries the pager's own answer: outside text, escaped once here.
    return f":warning: {escape_text(delivery.note)}"


def _ref_tag(delivery: Delivery) -> str:
    return f"[page {delivery.ref}]"


def _page_text(delivery: Delivery, incident: Incident, late: bool) -> str:
    # The reference lets a retry find this very message in Slack's history instead of sending it again.
    prefix = "LATE: " if late else ""
    return f"{prefix}Paging for {incident.id} {_ref_tag(delivery)}"


def _page_blocks(delivery: Delivery, incident: Incident, late: bool) -> list[dict[str, object]]:
    blocks = render.page_message(incident, delivery.level, delivery.targets, delivery.reason)
    notes = []
    if late:
        notes.append(
            f":hourglass: *Late*: this page was due at {delivery.paged_at:%H:%M:%S} UTC; Slack could not take it then."
        )
    if delivery.medium is Medium.DM and not incident.channel_id:
        notes.append("The incident channel is being created; it will be linked here once Slack allows.")
    return [section(n) for n in notes] + blocks


def _missing_pager_setting(settings: Settings, provider: str) -> str | None:
    if provider == "pagerduty" and not (
        settings.pagerduty_routing_key and settings.pagerduty_routing_key.get_secret_value()
    ):
        return "PAGERDUTY_ROUTING_KEY"
    if provider == "opsgenie" and not (settings.opsgenie_api_key and settings.opsgenie_api_key.get_secret_value()):
        return "OPSGENIE_API_KEY"
    return None


def _opened_channel(incident: Incident) -> str:
    """The incident channel once its header is up; Waiting before (the pager and the DMs never wait for it)."""
    # A page due at once (level 1) can fire while provisioning is between creating the channel and posting
    # the header; waiting for the header keeps the channel reading header first, page after.
    if not incident.channel_id:
        raise Waiting("the incident channel is not created yet")
    if not incident.header_ts:
        raise Waiting("the incident channel's header is not posted yet")
    return incident.channel_id
