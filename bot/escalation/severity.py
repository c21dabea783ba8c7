"""A severity change re-evaluates the escalation policy: the new severity's rules page, the old one's stop."""

from __future__ import annotations

import logging
from datetime import datetime

from bot.alerts import Severity
from bot.escalation.engine import ESCALATE, Escalator, escalation_prefix
from bot.escalation.timers import TimerRecord
from bot.incidents.models import Incident, Status

log = logging.getLogger(__name__)


def _rule_prefix(severity: Severity) -> str:
    return f"{severity.value}: severity rule"


def _is_rule_page(record: TimerRecord, severity: Severity) -> bool:
    """A pending page a severity rule of `severity` armed (level 0, named by its reason)."""
    if record.kind != ESCALATE or int(record.payload.get("level", -1)) != 0:
        return False
    return str(record.payload.get("reason", "")).startswith(_rule_prefix(severity))


async def severity_changed(escalator: Escalator, incident: Incident, old: Severity, now: datetime | None = None) -> int:
    """Disarm the old severity's pending rule pages and arm the new one's (due at once when already due).

    Only while the incident is triggered: after an acknowledgement the escalation is over, as for any page.
    Returns how many pages were armed. Timer ids carry the incident version, so running this twice for one
    change re-arms the same timers instead of paging twice.
    """
    if incident.status is not Status.TRIGGERED or old is incident.severity:
        return 0
    now = now or escalator.clock()
    for record in await escalator.timers.list_incident(incident.id):
        if _is_rule_page(record, old):
            await escalator.timers.cancel(record.id)
    policy = escalator.config.policy_for(incident.service)
    armed = 0
    for index, rule in enumerate(policy.severity_rules):
        if rule.severity is not incident.severity:
            continue
        due = max(incident.triggered_at + rule.delay(), now)
        payload = {
            "run": f"sev{incident.version}",
            "seq": index,
            "level": 0,
            "round": 0,
            "reason": f"{_rule_prefix(incident.severity)} (changed from {old.value})",
            "targets": [t.model_dump() for t in rule.also_page],
        }
        timer_id = f"{escalation_prefix(incident.id)}sev{incident.version}:{index:03d}"
        await escalator.timers.arm(timer_id, due, ESCALATE, payload, incident_id=incident.id)
        armed += 1
    log.info("severity changed", extra={"incident": incident.id, "old": old.value, "armed": armed})
    return armed
