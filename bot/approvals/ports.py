"""What the approval flows need from the outside (a presenter, a timer) and the records they hand back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from bot.approvals.models import Approval
from bot.approvals.store import ApprovalGroup
from bot.engine.types import DiagnosticResult
from bot.incidents.models import Incident
from bot.policy.rules import Refusal


class ReplyKind(StrEnum):
    """What a click led to."""

    REFUSED = "refused"
    WAITING = "waiting"
    RUNNING = "running"
    INFO = "info"
    DONE = "done"


@dataclass(frozen=True)
class Reply:
    """The answer for the person who clicked (shown to them only)."""

    kind: ReplyKind
    text: str
    reason: Refusal | None = None


@dataclass(frozen=True)
class ExecutionOutcome:
    """One finished execution: did it pass, why, what it printed, and what undoes it."""

    passed: bool
    verdict: str
    output: str
    duration_s: float
    rollback_id: str | None = None
    rollback_note: str = ""


class ApprovalPresenter(Protocol):
    """The chat side of approvals (Slack in production)."""

    async def show_plan(
        self, incident: Incident, group: ApprovalGroup, approvals: Sequence[Approval]
    ) -> tuple[str, str] | None:
        """Post a message offering these requests; returns (channel, ts), or None when there is no channel."""
        ...

    async def refresh(self, approval: Approval) -> None:
        """Re-render the message that shows this request from the stored state."""
        ...

    async def show_result(self, incident: Incident, approval: Approval, outcome: ExecutionOutcome) -> None:
        """Post the result of an execution."""
        ...

    async def show_before_after(
        self, incident: Incident, approval: Approval, before: dict[str, Any], after: Sequence[DiagnosticResult]
    ) -> None:
        """Post the diagnostics before and after a successful step."""
        ...

    async def members(self, group: str) -> frozenset[str]:
        """The members of a user group (an `S…` id or an `@handle`)."""
        ...


class ExpiryTimers(Protocol):
    """Durable timers (bot.escalation.timers.TimerStore fits)."""

    async def arm(
        self, timer_id: str, due_at: datetime, kind: str, payload: dict[str, Any], incident_id: str | None = None
    ) -> str:
        """Arm a timer that fires once at `due_at`."""
        ...


class OutcomePresenter(Protocol):
    """The chat side of unsettled steps: the "outcome unknown: verify" message and its buttons."""

    async def show_unknown(self, incident: Incident, approval: Approval) -> tuple[str, str] | None:
        """Post the verify message (Verified OK · Failed: offer rollback · Run again); returns (channel, ts)."""
        ...

    async def refresh_unknown(self, approval: Approval, channel: str, ts: str) -> None:
        """Re-render the verify message from the stored state (its buttons go once someone settled it)."""
        ...
