"""Announcing an unsettled step ("outcome unknown: verify"): audit, timeline, the verify message, once each.

Any replica may announce (the sweep, start-up recovery, or the owner at shutdown). One holds a short claim
at a time, and each side effect leaves a marker on the record first checked, so a claimant that dies
mid-way is finished by the next one without repeating what was done (only the last step before a crash
may repeat).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot import metrics
from bot.approvals.executions import ExecutionStore
from bot.approvals.models import Approval, ApprovalStatus
from bot.approvals.ports import ApprovalPresenter, OutcomePresenter
from bot.approvals.proposals import BOT_ACTOR
from bot.approvals.recorder import Recorder
from bot.approvals.store import ApprovalStore
from bot.incidents.models import EventType

log = logging.getLogger(__name__)

NOTICE_HOLD_S = 60.0


def audit_action(approval: Approval) -> str:
    """`step.outcome_unknown` / `step.interrupted` (or `rollback.…`)."""
    word = "interrupted" if approval.status is ApprovalStatus.INTERRUPTED else "outcome_unknown"
    return f"{approval.kind.value}.{word}"


class OutcomeNotices:
    """Posts and records unsettled outcomes; safe to call again and from any replica."""

    def __init__(
        self,
        store: ApprovalStore,
        executions: ExecutionStore,
        recorder: Recorder,
        presenter: ApprovalPresenter,
        outcomes: OutcomePresenter | None,
        clock: Callable[[], float],
        hold_s: float = NOTICE_HOLD_S,
    ) -> None:
        self.store = store
        self.executions = executions
        self.recorder = recorder
        self.presenter = presenter
        self.outcomes = outcomes
        self.clock = clock
        self.hold_s = hold_s

    async def announce(self, incident_id: str, approval_id: str) -> bool:
        """Announce one unsettled execution; True once it is (or already was) announced."""
        now = self.clock()
        code = await self.executions.claim_notice(incident_id, approval_id, now, self.hold_s)
        if code == "busy":
            await self.executions.enlist(incident_id, approval_id, now + self.hold_s)
            return False
        if code == ApprovalStatus.EXECUTING.value:
            return False
        if code != "ok":
            # Announced, resolved by a person, or gone: nothing left to do for the index.
            await self.executions.discharge(incident_id, approval_id)
            return code == "noticed"
        approval = await self.store.get(incident_id, approval_id)
        record = await self.executions.get(incident_id, approval_id)
        if approval is None or record is None:
            await self.executions.discharge(incident_id, approval_id)
            return False
        if record.fields.get("audited") != "1":
            await self._record(approval, record.owner, record.group.pid if record.group else None)
            await self.executions.mark(incident_id, approval_id, audited="1")
        if not record.fields.get("verify_ts") and self.outcomes is not None:
            incident = await self.recorder.incidents.get_incident_or_raise(incident_id)
            where = await self.outcomes.show_unknown(incident, approval)
            if where is not None:
                await self.executions.mark(incident_id, approval_id, verify_channel=where[0], verify_ts=where[1])
        await self.presenter.refresh(approval)
        await self.executions.mark(incident_id, approval_id, noticed="1")
        await self.executions.discharge(incident_id, approval_id)
        log.warning(
            "step outcome unknown: a person must verify",
            extra={"approval": approval_id, "incident_id": incident_id, "status": approval.status.value},
        )
        return True

    async def _record(self, approval: Approval, owner: str, pgid: int | None) -> None:
        if approval.status is ApprovalStatus.UNKNOWN:  # interrupted ones were counted by the runner that stopped them
            metrics.STEPS_EXECUTED.labels(approval.service, approval.action_name, "unknown").inc()
        data = {"why": approval.result, "owner": owner, "pgid": pgid}
        await self.recorder.audit(approval, audit_action(approval), BOT_ACTOR, approval.status.value, data)
        summary = f"{approval.name}: outcome unknown, verify ({approval.result})"
        await self.recorder.timeline(approval.incident_id, EventType.ACTION, summary, BOT_ACTOR, approval, data)
