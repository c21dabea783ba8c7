"""The offer simulate describes is the one the live bot makes, for every shipped step at every trust level."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.approvals.proposals import may_run_unattended
from bot.policy.offering import OfferMode, describe_offer, offer_mode
from bot.policy.trust import TrustLevel
from bot.runbooks.catalog import load_catalog

SHIPPED = Path(__file__).resolve().parents[3] / "runbooks"
STEPS = [(rb.id, r) for rb in load_catalog(SHIPPED).runbooks.values() for r in rb.remediations]


@pytest.mark.parametrize("level", list(TrustLevel))
def test_automatic_exactly_when_the_live_bot_runs_it_unattended(level: TrustLevel) -> None:
    assert STEPS
    for runbook_id, remediation in STEPS:
        automatic = offer_mode(remediation, level) is OfferMode.AUTOMATIC
        assert automatic == (remediation.action is not None and may_run_unattended(remediation, level)), (
            runbook_id,
            remediation.id,
        )


def test_a_step_without_guards_still_says_it_needs_approval_at_the_default_level() -> None:
    unguarded = [r for _, r in STEPS if r.action is not None and not r.safety.approvers and r.kind != "manual"]
    assert unguarded, "the shipped runbooks have a step without named approvers (the escalate steps)"
    for remediation in unguarded:
        assert describe_offer(remediation, TrustLevel.APPROVAL) == "needs approval by anyone (trust: approval)"
        assert describe_offer(remediation, TrustLevel.SHADOW) == "shadow: not run, what would run is logged"
