"""Paging over Slack (channel mention and DM, always) and pagers through the `page` hook."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from bot.alerts import utcnow
from bot.errors import BotError, UpstreamError
from bot.escalation.engine import Escalator
from bot.escalation.policy import PageTarget, TargetKind
from bot.escalation.reminders import ReminderKind
from bot.incidents.models import EventType, Incident, TimelineEvent
from bot.incidents.store import IncidentStore
from bot.settings import Settings
from bot.slack import escalation_blocks as render
from bot.slack.access_gate import remember_dm
from bot.slack.escape import escape_text
from bot.slack.gateway import Priority, SlackGateway
from bot.slack.invites import invite_responders
from hooks import registry
from hooks.base import ActionHook, HookContext, HookKind

log = logging.getLogger(__name__)


class SlackPager:
    """Implements the escalation Pager: a channel page, a DM per paged user, and pager hooks."""

    def __init__(self, gateway: SlackGateway, store: IncidentStore, settings: Settings) -> None:
        self.gateway = gateway
        self.store = store
        self.settings = settings
        self.escalator: Escalator | None = None  # set once built, for the countdown

    async def page(self, incident: Incident, level: int, targets: Sequence[PageTarget], reason: str) -> None:
        """Mention in the channel (a failure raises, so the page is retried), then DM users and trigger pagers."""
        blocks = render.page_message(incident, level, targets, reason)
        text = f"Paging for {incident.id}"
        if incident.channel_id:
            await self.gateway.post_message(incident.channel_id, text, blocks, Priority.PAGE)
        for target in targets:
            if target.kind is TargetKind.USER:
                await self._direct_message(incident, target.id, text, blocks)
            elif target.kind is TargetKind.PAGER:
                await self._external_page(incident, target, reason)
        # After the page itself, so inviting never delays it: the paged people join the incident channel.
        await invite_responders(self.gateway, incident.channel_id, [t.id for t in targets if t.kind is TargetKind.USER])
        await self.refresh_countdown(incident)

    async def _direct_message(self, incident: Incident, user: str, text: str, blocks: list[dict[str, object]]) -> None:
        # The channel page already went out: a failed DM is noted, not retried (a retry would page the channel twice).
        try:
            opened = await self.gateway.call("conversations.open", Priority.PAGE, users=user)
            dm = str(opened["channel"]["id"])
            await remember_dm(self.store, incident.id, dm)
            await self.gateway.post_message(dm, text, blocks, Priority.PAGE)
        except UpstreamError as exc:
            log.warning("page DM failed", extra={"incident": incident.id, "user": user, "error": str(exc)})
            await self.store.append_timeline(
                TimelineEvent(EventType.ESCALATION, incident.id, f"DM to <@{user}> failed: {exc}", data={"user": user})
            )

    async def _external_page(self, incident: Incident, target: PageTarget, reason: str) -> None:
        """Trigger PagerDuty or Opsgenie; a missing key is reported in the channel rather than retried forever."""
        try:
            hook = registry.get_hook_or_raise("page", HookKind.ACTION)
            config, problems = registry.validate_config(
                "page",
                {"provider": target.id, "summary": f"{incident.id} {incident.title}", "dedup_key": incident.id},
            )
            if config is None or not isinstance(hook, ActionHook):
                raise BotError("; ".join(problems) or "page hook unavailable")
            ctx = HookContext(settings=self.settings, environment=incident.environment, incident_id=incident.id)
            output = await hook.execute(config, ctx)
            note = f"{target.id} paged" if output.ok else f"{target.id} page failed: {output.output}"
        except BotError as exc:
            note = f"{target.id} page not sent: {exc}"
        await self.store.append_timeline(
            TimelineEvent(EventType.ESCALATION, incident.id, note, data={"provider": target.id, "reason": reason})
        )
        if "not sent" in note or "failed" in note:
            log.warning("external page failed", extra={"incident": incident.id, "note": note})
            if incident.channel_id:
                # The note carries the pager's own answer: outside text, escaped once here.
                await self.gateway.post_message(
                    incident.channel_id, f":warning: {escape_text(note)}", priority=Priority.PAGE
                )

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
