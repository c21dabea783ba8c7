"""Announcing an unknown outcome survives a claimant dying mid-way: the next one finishes without repeating."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.approvals.executions import Owner
from bot.approvals.localproc import ProcessId
from bot.approvals.notices import OutcomeNotices
from bot.connections import Redis
from bot.keys import Keys
from bot.sandbox.stack import SandboxStack, start_sandbox
from tests.integration.approvals.conftest import audit_actions, sandbox_settings
from tests.integration.approvals.exec_drill import ALLOWLIST, EXEC_RUNBOOKS, messages_with
from tests.integration.approvals.test_outcome_unknown import VERIFY, approved, claim_as, service


@pytest.fixture
async def stack(redis: Redis, redis_url: str, keys: Keys, tmp_path: Path) -> AsyncIterator[SandboxStack]:
    settings = sandbox_settings(keys, redis_url, tmp_path, runbooks_path=EXEC_RUNBOOKS, shell_allowlist=ALLOWLIST)
    started = await start_sandbox(**settings)
    yield started
    await started.stop()


async def test_a_held_claim_waits_and_done_steps_are_not_repeated(stack: SandboxStack) -> None:
    channel, _, approval = await approved(stack)
    await claim_as(stack, approval, Owner("ghost", "another-host", ProcessId(4_000_000, 1)), time.time() + 600)
    ex = service(stack).executor
    executions = ex.executions
    now = [time.time()]
    notices = OutcomeNotices(ex.store, executions, ex.recorder, ex.presenter, ex.notices.outcomes, lambda: now[0])
    assert await executions.settle_lost(approval.incident_id, approval.id, now[0], "ghost", "lost") == "settled"

    # Another replica took the notice and died after writing the audit event.
    assert await executions.claim_notice(approval.incident_id, approval.id, now[0], 60) == "ok"
    await ex.recorder.audit(approval, "step.outcome_unknown", "bot", "unknown")
    await executions.mark(approval.incident_id, approval.id, audited="1")
    assert not await notices.announce(approval.incident_id, approval.id)  # its claim still holds
    assert messages_with(stack.emulator, channel, VERIFY) == []

    now[0] += 61  # the claim lapsed: this replica finishes the job
    assert await notices.announce(approval.incident_id, approval.id)
    await stack.emulator.wait_for_message(channel, VERIFY, timeout=5)
    assert await notices.announce(approval.incident_id, approval.id)  # already announced: nothing more
    assert len(messages_with(stack.emulator, channel, VERIFY)) == 1
    assert (await audit_actions(stack))["step.outcome_unknown"] == 1
    assert await executions.everything() == []
