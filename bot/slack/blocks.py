"""Pure Block Kit renderers: incident header, evidence, plan, recovery. No I/O."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bot.engine.offer import OfferedStep
from bot.engine.types import DiagnosticResult, Verdict, overall_verdict
from bot.incidents.models import Incident, Status
from bot.policy.roles_file import DEFAULT_ROLES, RoleDef
from bot.slack.escape import escape_text, truncate
from bot.slack.header_controls import header_controls
from bot.slack.observed import observed
from bot.slack.role_blocks import role_blocks

MAX_BLOCKS = 50
SECTION_TEXT = 3000
HEADER_TEXT = 150
FIELD_TEXT = 2000
_URL = re.compile(r"^https?://[^\s<>|]+$")

SEVERITY_ICON = {
    "P1": ":red_circle:",
    "P2": ":large_orange_circle:",
    "P3": ":large_yellow_circle:",
    "P4": ":white_circle:",
}
STATUS_ICON = {
    Status.TRIGGERED: ":rotating_light:",
    Status.ACKNOWLEDGED: ":eyes:",
    Status.MITIGATING: ":hammer_and_wrench:",
    Status.RESOLVED: ":white_check_mark:",
    Status.CLOSED: ":lock:",
}
VERDICT_ICON = {
    Verdict.HEALTHY: ":large_green_circle:",
    Verdict.WARNING: ":large_yellow_circle:",
    Verdict.CRITICAL: ":red_circle:",
    Verdict.ERROR: ":warning:",
    Verdict.TIMEOUT: ":hourglass:",
}

Block = dict[str, Any]


def mrkdwn(text: str) -> dict[str, str]:
    """A mrkdwn text object cut to the section limit."""
    return {"type": "mrkdwn", "text": truncate(text, SECTION_TEXT)}


def section(text: str, block_id: str | None = None) -> Block:
    """A section block with mrkdwn text."""
    block: Block = {"type": "section", "text": mrkdwn(text)}
    if block_id:
        block["block_id"] = block_id
    return block


def link(url: str | None, label: str) -> str | None:
    """A mrkdwn link, or None when the URL is not a plain http(s) URL (never a smuggled one)."""
    if not url or not _URL.match(url):
        return None
    return f"<{url}|{escape_text(label)}>"


def header_text(incident: Incident) -> str:
    """The one-line summary used as notification text and header."""
    return f"{incident.id} · {incident.severity.value} · {escape_text(incident.title)}"


def incident_header(
    incident: Incident, runbook_url: str | None = None, roles: Sequence[RoleDef] = DEFAULT_ROLES
) -> list[Block]:
    """The header message: title, severity, status, service, environment, alerts, links, roles and claim buttons."""
    sev = incident.severity.value
    title = truncate(f"{incident.id} · {sev} · {incident.title}", HEADER_TEXT)
    fields = [
        f"*Status*\n{STATUS_ICON[incident.status]} {incident.status.value}",
        f"*Severity*\n{SEVERITY_ICON[sev]} {sev}",
        f"*Service*\n{escape_text(incident.service)}",
        f"*Environment*\n{escape_text(incident.environment)}",
        f"*Commander*\n{f'<@{incident.commander}>' if incident.commander else '_unassigned_'}",
        f"*Alerts*\n{incident.alerts_firing} firing · {incident.alerts_resolved} resolved",
        f"*Communication*\n{incident.comm_status.value}",
    ]
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": title, "emoji": True}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": truncate(f, FIELD_TEXT)} for f in fields]},
    ]
    links = [
        link(incident.links.get("dashboard"), "Dashboard"),
        link(runbook_url or incident.links.get("runbook"), "Runbook"),
        link(incident.links.get("silence"), "Silence"),
        link(incident.links.get("source"), "Source"),
    ]
    shown = [x for x in links if x]
    if shown:
        blocks.append({"type": "context", "elements": [mrkdwn(" · ".join(shown))]})
    if incident.paused:
        blocks.append({"type": "context", "elements": [mrkdwn(":double_vertical_bar: automation paused")]})
    blocks += role_blocks(incident, roles)
    controls = header_controls(incident)
    if controls is not None:
        blocks.append(controls)
    return blocks


def format_value(value: Any) -> str:
    """A short rendering of a diagnostic value."""
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4g}"
    return truncate(escape_text(str(value)), 60)


def evidence_line(result: DiagnosticResult) -> str:
    """One line: verdict, step name, what it observed (status and latency, exit code, value), duration."""
    seconds = result.duration_ms / 1000
    line = f"{VERDICT_ICON[result.status]} *{escape_text(result.name)}* — {result.status.value}"
    seen = observed(result, format_value)
    line += (f" · {seen}" if seen else "") + f" · {seconds:.2f}s"
    if result.error:
        line += f"\n      _{truncate(escape_text(result.error), 200)}_"
    return line


def evidence(results: Sequence[DiagnosticResult], runbook_name: str) -> list[Block]:
    """The evidence message: overall verdict and one line per step, packed within Block Kit limits."""
    verdict = overall_verdict(list(results))
    head = f"{VERDICT_ICON[verdict]} *Diagnostics: {verdict.value}* — runbook _{escape_text(runbook_name)}_"
    blocks: list[Block] = [section(head)]
    chunk = ""
    for line in (evidence_line(r) for r in results):
        if len(chunk) + len(line) + 1 > SECTION_TEXT - 10:
            blocks.append(section(chunk))
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    if chunk:
        blocks.append(section(chunk))
    if len(blocks) > MAX_BLOCKS - 1:
        blocks = blocks[: MAX_BLOCKS - 1]
    blocks.append({"type": "context", "elements": [mrkdwn("Details of each step are in the thread.")]})
    return blocks


def evidence_details(result: DiagnosticResult) -> str:
    """The thread reply holding one step's full evidence."""
    body = escape_text(result.evidence or result.error or "no output")
    text = f"{VERDICT_ICON[result.status]} *{escape_text(result.name)}* ({result.id})\n```{body}```"
    return truncate(text, 3900)


def plan(steps: Sequence[OfferedStep], runbook_name: str, notes: Sequence[str] = ()) -> list[Block]:
    """The plan message: the next safe steps with what each would run and its guards."""
    if not steps:
        text = f":mag: *No remediation offered* by _{escape_text(runbook_name)}_ for this evidence."
        blocks = [section(text)]
    else:
        blocks = [section(f":compass: *Next safe step* — runbook _{escape_text(runbook_name)}_")]
        for step in steps[: (MAX_BLOCKS - 4) // 2]:
            blocks.append(section(_step_text(step), block_id=f"step:{step.id}"))
            blocks.append({"type": "context", "elements": [mrkdwn(_guards_text(step))]})
    if notes:
        joined = "\n".join(f"• {escape_text(n)}" for n in notes)
        blocks.append({"type": "context", "elements": [mrkdwn(truncate(joined, SECTION_TEXT))]})
    return blocks[:MAX_BLOCKS]


def _step_text(step: OfferedStep) -> str:
    risk = ":warning: *irreversible* · " if step.irreversible else ""
    text = f"*{escape_text(step.name)}* ({step.kind}) — {risk}{escape_text(step.description)}"
    if step.what_runs:
        text += f"\n>{escape_text(step.what_runs)}"
    if step.instructions:
        text += f"\n{escape_text(step.instructions)}"
    text += f"\n_why: {escape_text(step.reason)}_"
    return text


def _guards_text(step: OfferedStep) -> str:
    return "guards: " + (", ".join(escape_text(g) for g in step.guards) if step.guards else "none")


def recovery(incident: Incident) -> list[Block]:
    """The message posted when the incident resolves."""
    took = ""
    if incident.resolved_at:
        minutes = (incident.resolved_at - incident.triggered_at).total_seconds() / 60
        took = f" after {minutes:.0f} min"
    return [section(f":white_check_mark: *{incident.id} resolved*{took}: every alert of the group has recovered.")]
