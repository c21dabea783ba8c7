"""The Slack side of incident flows: channel, invitations, topic, header, evidence, plan, recovery."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.engine.offer import PlanOutcome
from bot.engine.types import DiagnosticResult
from bot.errors import UpstreamError
from bot.incidents.flows import MatchedRunbook
from bot.incidents.models import EventType, Incident, TimelineEvent
from bot.incidents.store import IncidentStore
from bot.policy.roles_file import DEFAULT_ROLES, RoleBook, RoleDef
from bot.slack import blocks as render
from bot.slack.escape import split_text
from bot.slack.gateway import Priority, SlackGateway
from bot.slack.naming import channel_name
from bot.slack.no_runbook import no_runbook_text
from bot.slack.role_blocks import with_roles

if TYPE_CHECKING:
    from bot.approvals.service import ApprovalService

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChannelPolicy:
    """How incident channels are named and who is invited."""

    name_template: str = "inc-{number}-{service}-{title}"
    private: bool = False
    incidents_channel: str | None = None
    responder_usergroup: str | None = None


class SlackNotifier:
    """Implements the flows' Notifier over the Slack gateway."""

    def __init__(self, gateway: SlackGateway, store: IncidentStore, policy: ChannelPolicy | None = None) -> None:
        self.gateway = gateway
        self.store = store
        self.policy = policy or ChannelPolicy()
        self._topics: dict[str, str] = {}
        # Set by bot.app once the approval service exists: plans are then posted with approval buttons.
        self.approvals: ApprovalService | None = None
        # Set by bot.app: the configured incident roles (runbooks/policy/roles.yaml); the defaults when None.
        self.roles: RoleBook | None = None

    async def incident_opened(self, incident: Incident, runbook: MatchedRunbook | None) -> Incident:
        """Create and bind the channel, invite, set the topic, post the header; skips what a crashed run did."""
        if incident.channel_id is None:
            name = channel_name(
                self.policy.name_template, incident.number, incident.service, incident.title, incident.severity.value
            )
            private = self.policy.private if incident.private_channel is None else incident.private_channel
            channel_id, actual = await self.gateway.create_channel(name, is_private=private)
            incident = await self.store.bind_channel(incident.id, channel_id, actual)
            # A commander named when declaring works in the channel: invite them with the responders.
            commander = [incident.commander] if incident.commander else []
            await self._invite(channel_id, list(dict.fromkeys([*commander, *await self._responders(runbook)])))
            await self.store.append_timeline(
                TimelineEvent(EventType.MESSAGE, incident.id, f"channel #{actual} opened", data={"channel": channel_id})
            )
        channel = incident.channel_id
        assert channel is not None
        await self._set_topic(incident)
        if incident.header_ts is None:
            runbook_url = runbook.url if runbook else None
            header = render.incident_header(incident, runbook_url, self._roles())
            ts = await self.gateway.post_message(channel, render.header_text(incident), header, Priority.APPROVAL)
            incident = await self.store.update_incident(incident.id, _set_header(ts))
            await self._bookmark(channel, runbook_url, incident.links.get("dashboard"))
            await self._announce(incident)
            if runbook is None:
                await self.gateway.post_message(channel, no_runbook_text(incident))
        # Alerts that arrived while the channel was being made changed the record: show the latest.
        await self.incident_updated(incident)
        return incident

    async def incident_updated(self, incident: Incident) -> None:
        """Re-render the header in place from the freshest record (merged with other pending edits)."""
        fresh = await self.store.get_incident(incident.id) or incident
        if not fresh.channel_id or not fresh.header_ts:
            return
        await self.gateway.update_message(
            fresh.channel_id,
            fresh.header_ts,
            render.header_text(fresh),
            render.incident_header(fresh, None, self._roles()),
        )
        await self._set_topic(fresh)

    async def incident_resolved(self, incident: Incident) -> None:
        """Post the recovery message and refresh the header."""
        fresh = await self.store.get_incident(incident.id) or incident
        if not fresh.channel_id:
            return
        await self.gateway.post_message(fresh.channel_id, f"{fresh.id} resolved", render.recovery(fresh))
        await self.incident_updated(fresh)

    async def evidence_ready(
        self, incident: Incident, results: Sequence[DiagnosticResult], runbook_name: str
    ) -> str | None:
        """Post the evidence summary; returns its ts, the thread its details go to."""
        channel = await self._channel(incident)
        if channel is None:
            return None
        summary = render.evidence(results, runbook_name)
        return await self.gateway.post_message(channel, f"{incident.id} diagnostics", summary)

    async def evidence_details(self, incident: Incident, results: Sequence[DiagnosticResult], thread: str) -> None:
        """Post every step's details in the summary's thread."""
        channel = await self._channel(incident)
        if channel is None:
            return
        details = "\n\n".join(render.evidence_details(r) for r in results)
        for part in split_text(details, 3900):
            await self.gateway.call("chat.postMessage", channel=channel, text=part, thread_ts=thread)

    async def plan_ready(self, incident: Incident, plan: PlanOutcome) -> None:
        """Post the plan: the next safe steps and their guards."""
        channel = await self._channel(incident)
        if channel is None:
            return
        if self.approvals is not None:
            fresh = await self.store.get_incident(incident.id) or incident
            await self.approvals.offer_plan(fresh, plan)
            return
        text = f"{incident.id}: " + (f"{len(plan.steps)} step(s) offered" if plan.steps else "no step offered")
        await self.gateway.post_message(
            channel, text, render.plan(plan.steps, plan.runbook_name, plan.notes), Priority.APPROVAL
        )

    async def _channel(self, incident: Incident) -> str | None:
        if incident.channel_id:
            return incident.channel_id
        fresh = await self.store.get_incident(incident.id)
        return fresh.channel_id if fresh else None

    async def _responders(self, runbook: MatchedRunbook | None) -> list[str]:
        users: list[str] = []
        groups = [o for o in (runbook.owners if runbook else ()) if o.startswith("S")]
        users += [o for o in (runbook.owners if runbook else ()) if o.startswith(("U", "W"))]
        if self.policy.responder_usergroup:
            groups.append(self.policy.responder_usergroup)
        for group in groups:
            try:
                response = await self.gateway.call("usergroups.users.list", usergroup=group)
                users += list(response.get("users", []))
            except UpstreamError as exc:
                log.warning("cannot list user group", extra={"usergroup": group, "error": str(exc)})
        return list(dict.fromkeys(users))

    async def _invite(self, channel: str, users: list[str]) -> None:
        if not users:
            return
        try:
            await self.gateway.call("conversations.invite", Priority.APPROVAL, channel=channel, users=",".join(users))
        except UpstreamError as exc:
            # One bad user fails the whole call on Slack; invite the rest one by one.
            log.warning("bulk invite failed, inviting one by one", extra={"error": str(exc)})
            for user in users:
                try:
                    await self.gateway.call("conversations.invite", channel=channel, users=user)
                except UpstreamError as single:
                    log.warning("cannot invite", extra={"user": user, "error": str(single)})

    async def _set_topic(self, incident: Incident) -> None:
        if not incident.channel_id:
            return
        commander = f"<@{incident.commander}>" if incident.commander else "unassigned"
        topic = f"{incident.severity.value} · {incident.status.value} · commander: {commander}"
        topic = with_roles(topic, incident, self._roles())
        if self._topics.get(incident.channel_id) == topic:
            return
        self._topics[incident.channel_id] = topic
        await self.gateway.call("conversations.setTopic", Priority.COSMETIC, channel=incident.channel_id, topic=topic)

    def _roles(self) -> list[RoleDef]:
        return self.roles.config().roles if self.roles is not None else list(DEFAULT_ROLES)

    async def _bookmark(self, channel: str, runbook_url: str | None, dashboard: str | None) -> None:
        for title, url in (("Runbook", runbook_url), ("Dashboard", dashboard)):
            if url and render.link(url, title):
                try:
                    await self.gateway.call(
                        "bookmarks.add", Priority.COSMETIC, channel_id=channel, title=title, type="link", link=url
                    )
                except UpstreamError as exc:
                    log.warning("bookmark failed", extra={"error": str(exc)})

    async def _announce(self, incident: Incident) -> None:
        if not self.policy.incidents_channel or not incident.channel_id:
            return
        text = (
            f"{render.SEVERITY_ICON[incident.severity.value]} {render.header_text(incident)} → <#{incident.channel_id}>"
        )
        ts = await self.gateway.post_message(self.policy.incidents_channel, text)
        await self.store.update_incident(incident.id, _set_announcement(ts))


def _set_announcement(ts: str) -> Callable[[Incident], None]:
    def mutate(incident: Incident) -> None:
        incident.announcement_ts = ts

    return mutate


def _set_header(ts: str) -> Callable[[Incident], None]:
    def mutate(incident: Incident) -> None:
        incident.header_ts = ts

    return mutate
