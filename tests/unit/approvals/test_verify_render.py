"""The "outcome unknown: verify" message: three buttons carrying only the approval id while unsettled, none after."""

from __future__ import annotations

from bot.approvals.models import ApprovalStatus
from bot.slack import approval_blocks as render
from tests.unit.approvals.test_render_and_models import approval, valid


def test_unknown_outcome_offers_the_three_settling_buttons() -> None:
    lost = approval(status=ApprovalStatus.UNKNOWN, approved_by=["U1"], result="its owner stopped renewing the lease")
    blocks = render.verify_message(lost)
    valid(blocks)
    actions = next(b for b in blocks if b["type"] == "actions")
    ids = [e["action_id"] for e in actions["elements"]]
    assert ids == ["verified_ok_step", "verified_failed_step", "run_again_step"]
    assert {e["value"] for e in actions["elements"]} == {"a1b2c3"}
    text = str(blocks)
    assert "Outcome unknown: verify" in text and "systemctl restart api" in text and "stopped renewing" in text
    assert "<!channel>" not in text  # the step name is escaped


def test_interrupted_says_so_and_the_plan_line_asks_to_verify() -> None:
    stopped = approval(status=ApprovalStatus.INTERRUPTED, approved_by=["U1"], result="ran to its timeout")
    assert "interrupted" in str(render.verify_message(stopped))
    line = render.state_line(stopped, now=110.0)
    assert "outcome unknown: verify" in line and "ran to its timeout" in line
    plan = render.plan_message("t", [stopped], [], now=110.0)
    assert not any(b["type"] == "actions" for b in plan)  # the plan itself offers no Approve any more


def test_settled_outcome_drops_the_buttons_and_names_who_settled_it() -> None:
    for status in (ApprovalStatus.SUCCEEDED, ApprovalStatus.FAILED, ApprovalStatus.RERUN):
        settled = approval(status=status, approved_by=["U1"], finished_by="U0ALICE001", result="verified")
        blocks = render.verify_message(settled)
        valid(blocks)
        assert not any(b["type"] == "actions" for b in blocks)
        assert "<@U0ALICE001>" in str(blocks)
        assert "by <@U0ALICE001>" in render.state_line(settled, now=110.0)
    ran = approval(status=ApprovalStatus.SUCCEEDED, approved_by=["U1"], finished_by="0a1b2c3d4e5f", result="ok")
    assert "by <@" not in render.state_line(ran, now=110.0).split("·", 1)[1]  # a replica id is not a person
