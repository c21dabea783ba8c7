"""The verify flows called directly (no Slack click): Run again gives the buttons back when it cannot offer."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.approvals.executions import Owner
from bot.approvals.localproc import ProcessId
from bot.approvals.models import ApprovalKind, ApprovalStatus
from bot.approvals.proposals import new_id
from bot.connections import Redis
from bot.errors import BotError
from bot.keys import Keys
from bot.sandbox.stack import SandboxStack, start_sandbox
from tests.integration.approvals.conftest import sandbox_settings
from tests.integration.approvals.exec_drill import ALLOWLIST, EXEC_RUNBOOKS
from tests.integration.approvals.test_outcome_unknown import approved, claim_as, service, status_of


@pytest.fixture
async def stack(redis: Redis, redis_url: str, keys: Keys, tmp_path: Path) -> AsyncIterator[SandboxStack]:
    settings = sandbox_settings(keys, redis_url, tmp_path, runbooks_path=EXEC_RUNBOOKS, shell_allowlist=ALLOWLIST)
    started = await start_sandbox(**settings)
    yield started
    await started.stop()


async def test_run_again_that_cannot_offer_restores_the_unknown_outcome(stack: SandboxStack) -> None:
    _, _, step = await approved(stack)
    approvals = service(stack)
    orphan_rollback = dataclasses.replace(
        step, id=new_id(), kind=ApprovalKind.ROLLBACK, rollback_of="no-such-step", status=ApprovalStatus.PENDING
    )
    orphan_rollback.approved_by = []
    await approvals.store.create([orphan_rollback])
    assert (await approvals.store.record_approval(orphan_rollback, "U0ALICE001", time.time())).code == "now_approved"
    await claim_as(stack, orphan_rollback, Owner("ghost", "elsewhere", ProcessId(4_000_000, 1)), time.time() + 600)
    executions = approvals.executor.executions
    settled = await executions.settle_lost(orphan_rollback.incident_id, orphan_rollback.id, time.time(), "ghost", "x")
    assert settled == "settled"

    with pytest.raises(BotError, match="no longer on record"):
        await approvals.verify.run_again(orphan_rollback.id, "U0ALICE001")
    assert await status_of(stack, orphan_rollback) is ApprovalStatus.UNKNOWN  # the buttons are back
    reply = await approvals.verify.verified_failed(orphan_rollback.id, "U0ALICE001")
    assert "offers nothing further" in reply.text
    again = await approvals.verify.verified_ok(orphan_rollback.id, "U0BOB00001")
    assert "already settled (failed by <@U0ALICE001>)" in again.text
