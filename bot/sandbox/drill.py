"""A game day against the demo sandbox: fire a scenario, act as the responders, and report what happened."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from bot.approvals.models import ApprovalStatus
from bot.errors import InvalidInput
from bot.incidents.models import AuditEvent, Status
from bot.sandbox.emulator.records import Channel, Message
from bot.sandbox.session import DemoSandbox
from bot.slack.approval_blocks import ActionId

DEFAULT_PERSON = "U0ALICE001"
POLL_S = 0.2
# Decides whether to approve a step: (step id, step name, approver name) -> approve?
Decide = Callable[[str, str, str], Awaitable[bool]]


@dataclass
class DrillReport:
    """What a drill measured; `to_json()` is the CI format."""

    scenario: str
    incident: str = ""
    runbook: str = ""
    plan: list[str] = field(default_factory=list)
    time_to_evidence_s: float | None = None
    steps_offered: list[str] = field(default_factory=list)
    steps_approved: list[str] = field(default_factory=list)
    steps_run: dict[str, str] = field(default_factory=dict)
    pages: int = 0
    acks: int = 0
    resolved: bool = False
    time_to_resolve_s: float | None = None
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Plain data."""
        return asdict(self)

    def text(self) -> str:
        """The report for a person."""
        ran = ", ".join(f"{k}: {v}" for k, v in self.steps_run.items()) or "none"
        lines = [
            f"Drill {self.scenario}: {self.incident or 'no incident'} (runbook {self.runbook or 'none'})",
            f"  time to evidence  {_seconds(self.time_to_evidence_s)}",
            f"  runbook's plan    {', '.join(self.plan) or 'none'}",
            f"  steps offered     {', '.join(self.steps_offered) or 'none'}",
            f"  steps approved    {', '.join(self.steps_approved) or 'none'}",
            f"  steps run         {ran}",
            f"  pages / acks      {self.pages} / {self.acks}",
            f"  resolved          {'yes after ' + _seconds(self.time_to_resolve_s) if self.resolved else 'NO'}",
        ]
        lines += [f"  problem: {p}" for p in self.problems]
        return "\n".join(lines)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


async def approve_all(step: str, name: str, person: str) -> bool:
    """The scripted responder: approve every offered step."""
    return True


class Drill:
    """Runs one scenario against a started demo sandbox."""

    def __init__(self, sandbox: DemoSandbox, decide: Decide = approve_all, timeout_s: float = 60.0) -> None:
        self.sandbox = sandbox
        self.emulator = sandbox.stack.emulator
        self.decide = decide
        self.timeout_s = timeout_s
        services = sandbox.stack.bot.services
        if services is None or services.approvals is None:
            raise InvalidInput("the sandbox bot has no approval service")
        self.store = services.store
        self.approvals = services.approvals

    async def run(self, scenario: str) -> DrillReport:
        """Fire, wait for evidence, ack the page, approve the offered steps, wait for resolution, report."""
        report = DrillReport(scenario)
        panel = self.emulator.webui.panel
        if panel is None:
            raise InvalidInput("the sandbox has no alert panel")
        started = time.monotonic()
        status, body = await panel.fire(scenario)
        if status != 202 and status != 200:
            raise InvalidInput(f"the bot refused the {scenario} alert: HTTP {status}: {body}")
        report.incident = body["alerts"][0]["incident"]
        channel = await self.emulator.wait_until(self._channel_of(report.incident), self.timeout_s, "the channel")
        await self.emulator.wait_for_message(channel.id, "Diagnostics", timeout=self.timeout_s)
        report.time_to_evidence_s = round(time.monotonic() - started, 3)
        incident = await self.store.get_incident_or_raise(report.incident)
        report.runbook = incident.runbook_id or ""
        if incident.runbook_id:
            runbook = self.approvals.responder.runbook(incident.runbook_id)
            report.plan = list(dict.fromkeys(step for d in runbook.decisions for step in d.offer))
        await self._ack_page(report.incident)
        report.resolved = await self._respond(channel, report)
        if report.resolved:
            report.time_to_resolve_s = round(time.monotonic() - started, 3)
        await self._tally(report)
        return report

    def _channel_of(self, incident_id: str) -> Callable[[], Channel | None]:
        prefix = f"inc-{incident_id[4:]}-"
        return lambda: next((c for c in self.emulator.channels() if c.name.startswith(prefix)), None)

    async def _ack_page(self, incident_id: str) -> None:
        """The paged person acknowledges, as on call would (the page comes at once in the sandbox)."""
        try:
            await self.emulator.wait_until(lambda: self.emulator.dm(DEFAULT_PERSON), 10.0, "the page")
        except TimeoutError:
            return
        await self.emulator.driver.slash_command(DEFAULT_PERSON, "incidents", f"ack {incident_id}")

    async def _respond(self, channel: Channel, report: DrillReport) -> bool:
        """Click Approve (as a member of the step's approvers) on each new request until the incident resolves."""
        deadline = time.monotonic() + self.timeout_s
        handled: set[str] = set()
        while time.monotonic() < deadline:
            incident = await self.store.get_incident_or_raise(report.incident)
            if incident.status in (Status.RESOLVED, Status.CLOSED):
                return True
            for message, approval_id in approve_buttons(self.emulator.messages(channel.id)):
                if approval_id in handled:
                    continue
                handled.add(approval_id)
                approval = await self.approvals.store.find(approval_id)
                if approval is None or approval.status is not ApprovalStatus.PENDING:
                    continue
                person = self.approver(approval.approvers)
                name = self.emulator.workspace.users[person].name
                if await self.decide(approval.step_id, approval.name, name):
                    await self.emulator.driver.click_button(
                        person, channel.id, message.ts, ActionId.APPROVE.value, approval_id
                    )
            await asyncio.sleep(POLL_S)
        report.problems.append(f"the incident did not resolve within {self.timeout_s:g} s")
        return False

    def approver(self, approvers: list[str]) -> str:
        """A person who may approve: the first member of the first group named, else alice."""
        groups = self.emulator.workspace.groups.values()
        for entry in approvers:
            if entry.startswith(("U", "W")):
                return entry
            found = next((g for g in groups if entry in (g.id, f"@{g.handle}")), None)
            if found is not None and found.users:
                return found.users[0]
        return DEFAULT_PERSON

    async def _tally(self, report: DrillReport) -> None:
        events = await self.store.read_audit(incident_id=report.incident)
        fill_from_audit(report, events)


def approve_buttons(messages: list[Message]) -> list[tuple[Message, str]]:
    """(message, approval id) for every Approve button in these messages, oldest first."""
    found = []
    for message in messages:
        for block in message.blocks or []:
            for element in block.get("elements", []) if block.get("type") == "actions" else []:
                if element.get("action_id") == ActionId.APPROVE.value and element.get("value"):
                    found.append((message, str(element["value"])))
    return found


def fill_from_audit(report: DrillReport, events: list[AuditEvent]) -> None:
    """Offered, approved and run steps, pages and acks, from the incident's audit records."""
    for event in events:
        step = event.step or ""
        if event.action == "step.proposed" and step not in report.steps_offered:
            report.steps_offered.append(step)
        elif event.action == "approval.approved" and event.outcome == "approved" and step not in report.steps_approved:
            report.steps_approved.append(step)
        elif event.action == "step.result":
            report.steps_run[step] = event.outcome
        elif event.action == "escalation.page" and event.outcome == "paged":
            report.pages += 1
        elif event.action == "escalation.ack":
            report.acks += 1
