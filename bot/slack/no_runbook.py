"""The message an incident channel gets when no runbook matches its alert: what happened and how to add one."""

from __future__ import annotations

from bot.incidents.lifecycle import first_alert_of
from bot.incidents.models import Incident
from bot.slack.escape import escape_text

DOCS = "docs/runbooks.md"


def no_runbook_text(incident: Incident) -> str:
    """Says no runbook matched (naming the alert and service) and how to write one that would."""
    alert = first_alert_of(incident)
    name = alert.name if alert else incident.title
    service = alert.service if alert else incident.service
    return (
        f":grey_question: No runbook matches this alert (`{escape_text(name)}`, service `{escape_text(service)}`),"
        " so there are no diagnostics or steps to offer.\n"
        f"To add one, put a YAML file in the runbooks folder with `service: {escape_text(service)}` and"
        f" `triggers: [{{alert: {escape_text(name)}}}]` (see {DOCS}); `runbookctl lint` checks it and"
        " the bot loads new and changed runbook files without a restart."
    )
