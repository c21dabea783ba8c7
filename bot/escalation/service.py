"""What incident flows and commands call: start, acknowledge and stop escalations and reminders (Slack-free)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot.escalation.engine import AckResult, Escalator, escalation_prefix
from bot.escalation.policy import Policy
from bot.escalation.reminders import ReminderKind, Reminders
from bot.escalation.timers import ArmRequest
from bot.incidents.models import Incident, TimelineEvent

log = logging.getLogger(__name__)

# Shows the escalation state in the incident channel (the Slack countdown, edited in place).
Countdown = Callable[[Incident], Awaitable[None]]


class EscalationService:
    """Ties the escalator and reminders to the incident lifecycle."""

    def __init__(
        self,
        escalator: Escalator,
        reminders: Reminders,
        countdown: Countdown,
        status_every: timedelta = timedelta(minutes=30),
        commander_after: timedelta = timedelta(minutes=10),
    ) -> None:
        self.escalator = escalator
        self.reminders = reminders
        self.countdown = countdown
        self.status_every = status_every
        self.commander_after = commander_after

    def opening_plan(
        self, incident: Incident, policy_name: str | None = None, now: datetime | None = None
    ) -> tuple[list[ArmRequest], TimelineEvent]:
        """The escalation timers to write with a new incident, so paging starts without waiting for Slack."""
        return self.escalator.plan_timers(incident, self._policy(policy_name), now)

    async def start_paging(self, incident: Incident, policy_name: str | None = None) -> Incident:
        """Arm the escalation of an incident created without it, and record that it is armed."""
        await self.escalator.start_escalation(incident, self._policy(policy_name))
        return await self.escalator.store.update_incident(incident.id, _mark_armed)

    async def incident_opened(self, incident: Incident, policy_name: str | None = None) -> None:
        """Arm the policy's pages (the runbook's policy, else the service's) unless armed at creation, and reminders."""
        if not incident.escalation_armed:
            await self.escalator.start_escalation(incident, self._policy(policy_name))
        await self.reminders.arm(incident.id, ReminderKind.STATUS_UPDATE, self.status_every)
        if not incident.commander:
            await self.reminders.arm(incident.id, ReminderKind.NO_COMMANDER, self.commander_after)
        await self.countdown(incident)

    def _policy(self, policy_name: str | None) -> Policy | None:
        policy = self.escalator.config.book.policies.get(policy_name) if policy_name else None
        if policy_name and policy is None:
            log.warning("runbook names an unknown escalation policy", extra={"policy": policy_name})
        return policy

    async def acknowledge(self, incident_id: str, user: str) -> AckResult:
        """Acknowledge and stop the escalation at once; raises IllegalTransition when it cannot be acked."""
        result = await self.escalator.acknowledge(incident_id, user)
        await self.countdown(result.incident)
        return result

    async def incident_ended(self, incident: Incident) -> None:
        """Resolved or closed: disarm every timer of the incident."""
        # Only the escalation's own timers: approval expiries must still replace their buttons.
        await self.escalator.timers.cancel_incident(incident.id, escalation_prefix(incident.id))
        await self.countdown(incident)

    async def status_updated(self, incident_id: str) -> None:
        """A status update was posted: push the reminder back."""
        await self.reminders.status_updated(incident_id)


def _mark_armed(incident: Incident) -> None:
    incident.escalation_armed = True
