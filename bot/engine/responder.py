"""The runbook side of incident flows: match a runbook, run its diagnostics, plan and describe the next steps."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from bot import metrics
from bot.alerts import Alert
from bot.engine.diagnose import run_diagnostics
from bot.engine.offer import OfferedStep, PlanOutcome
from bot.engine.plan import PlanContext, PlannedStep, plan, prepare_diagnostics, ref_context
from bot.engine.types import DiagnosticResult
from bot.errors import BotError, InvalidInput
from bot.incidents.flows import MatchedRunbook
from bot.incidents.lifecycle import first_alert_of
from bot.incidents.models import Incident
from bot.runbooks.catalog import Catalog
from bot.runbooks.fieldcheck import resolve_checked
from bot.runbooks.schema import Action, Runbook
from bot.settings import Settings
from hooks import registry
from hooks.base import ActionHook, HookContext, HookKind

log = logging.getLogger(__name__)

# Sends a chat message (channel, text); the notify hook uses it to reach the incident channel.
PostMessage = Callable[[str, str], Awaitable[Any]]


class RunbookResponder:
    """Implements the flows' Responder over the runbook catalog, the hooks and the planner."""

    def __init__(self, catalog: Catalog, settings: Settings, post_message: PostMessage | None = None) -> None:
        self.catalog = catalog
        self.settings = settings
        self.post_message = post_message

    def match(self, alert: Alert) -> MatchedRunbook | None:
        """The most specific runbook for the alert."""
        runbook = self.catalog.match(alert)
        if runbook is None:
            return None
        owners = tuple(o for o in runbook.owner.split() if o[:1] in ("U", "W", "S") and o[1:].isalnum())
        return MatchedRunbook(runbook.id, runbook.name, _url(runbook.links.docs), owners, runbook.escalation)

    def hook_context(self, incident: Incident, alert: Alert | None) -> HookContext:
        """What hooks may know about this incident."""
        return HookContext(
            settings=self.settings,
            environment=incident.environment,
            incident_id=incident.id,
            service=incident.service,
            alert=alert.model_dump(mode="json") if alert else {},
            post_message=self.post_message,
            channel=incident.channel_id,
            allowed_hosts=self._runbook_hosts(incident),
        )

    def _runbook_hosts(self, incident: Incident) -> tuple[str, ...] | None:
        runbook = self.catalog.get(incident.runbook_id) if incident.runbook_id else None
        return tuple(runbook.allowed_hosts) if runbook and runbook.allowed_hosts is not None else None

    async def diagnose(self, runbook_id: str, incident: Incident, alert: Alert | None) -> list[DiagnosticResult]:
        """Run every diagnostic of the runbook at once; one that cannot be prepared is an error result."""
        runbook = self.catalog.get_or_raise(runbook_id)
        prepared = prepare_diagnostics(runbook, _plan_context(incident, alert, self.settings))
        results = await run_diagnostics(
            prepared.plans, self.hook_context(incident, alert), self.settings.diagnostics_deadline_s
        )
        by_id = {r.id: r for r in [*results, *prepared.failed]}
        ordered = []
        for diagnostic in runbook.diagnostics:
            result = by_id[diagnostic.id]
            metrics.DIAGNOSTICS.labels(diagnostic.type, result.status.value).inc()
            metrics.DIAGNOSTIC_SECONDS.labels(diagnostic.type).observe(result.duration_ms / 1000)
            ordered.append(result)
        return ordered

    def plan(self, runbook_id: str, incident: Incident, results: Sequence[DiagnosticResult]) -> PlanOutcome:
        """The steps to offer, each with exactly what it would run; a step that cannot be prepared is dropped."""
        runbook = self.catalog.get_or_raise(runbook_id)
        context = _plan_context(incident, None, self.settings)
        made = plan(runbook, {r.id: r for r in results}, context)
        notes = [f"decision {d.decision_id}: condition error ({d.error}), counted as false" for d in made.errors]
        notes += [f"{s.step_id} not offered: {s.reason}" for s in made.skipped]
        steps = []
        for planned in made.steps:
            try:
                steps.append(self.offer(planned, incident))
            except BotError as exc:
                notes.append(f"{planned.step_id} not offered: {exc}")
        return PlanOutcome(runbook.id, runbook.name, steps, notes)

    def offer(self, planned: PlannedStep, incident: Incident) -> OfferedStep:
        """Describe one planned step for people."""
        step = planned.remediation
        what = self.describe(step.action, incident) if step.action else ""
        return OfferedStep(
            id=step.id,
            name=step.name,
            kind=step.kind,
            description=step.description,
            what_runs=what,
            reason=f"decision {planned.decision_id}: {planned.condition}",
            guards=list(planned.guards),
            instructions=step.instructions or "",
            irreversible=step.safety.irreversible,
        )

    def describe(self, action: Action, incident: Incident) -> str:
        """Exactly what the action would do, from its hook's describe()."""
        hook, config = self.prepare_action(action, incident)
        return hook.describe(config, self.hook_context(incident, None))

    def prepare_action(self, action: Action, incident: Incident, alert: Alert | None = None) -> tuple[ActionHook, Any]:
        """The action hook and its validated config with references resolved; raises InvalidInput."""
        hook = registry.get_hook_or_raise(action.type, HookKind.ACTION)
        runbook = self.catalog.get(incident.runbook_id) if incident.runbook_id else None
        incident_refs = {"id": incident.id, "channel": incident.channel_id or ""}
        context = _plan_context(incident, alert, self.settings)
        refs = ref_context(context.alert, incident_refs, context, runbook)
        config = resolve_checked(action.type, action.config, refs)
        model, problems = registry.validate_config(action.type, config)
        if model is None:
            raise InvalidInput(f"invalid {action.type} config: {'; '.join(problems)}", fields=["action.config"])
        if not isinstance(hook, ActionHook):
            raise InvalidInput(f"hook {action.type!r} is not an action hook", fields=["action.type"])
        return hook, model

    def runbook(self, runbook_id: str) -> Runbook:
        """The loaded runbook; raises InvalidInput when unknown."""
        return self.catalog.get_or_raise(runbook_id)


def _plan_context(incident: Incident, alert: Alert | None, settings: Settings) -> PlanContext:
    return PlanContext(
        alert=alert or first_alert_of(incident),
        environment=incident.environment,
        incident_id=incident.id,
        http_allowed_hosts=tuple(settings.http_allowed_hosts),
    )


def _url(value: object) -> str | None:
    return str(value) if value else None
