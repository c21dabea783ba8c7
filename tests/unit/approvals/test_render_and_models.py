"""Approval records survive Redis hashes; the plan, result and state renderers stay within Block Kit."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.approvals.models import Approval, ApprovalKind, ApprovalStatus, idempotency_key, params_hash
from bot.approvals.ports import ExecutionOutcome
from bot.slack import approval_blocks as render


def approval(**fields: object) -> Approval:
    base: dict[str, object] = {
        "id": "a1b2c3",
        "incident_id": "INC-1",
        "kind": ApprovalKind.STEP,
        "runbook_id": "rb",
        "step_id": "restart",
        "name": "Restart <!channel>",
        "environment": "prod",
        "service": "api",
        "what_runs": "Run `systemctl restart api`",
        "action": {"type": "run_script", "config": {"argv": ["systemctl", "restart", "api"]}},
        "params_hash": "h",
        "approvers": ["S0ONCALL01"],
        "required": 1,
        "requester": "bot",
        "exclude_requester": False,
        "irreversible": False,
        "trust": "approval",
        "created_at": 100.0,
        "expires_at": 220.0,
    }
    return Approval(**{**base, **fields})  # type: ignore[arg-type]


def valid(blocks: list[dict[str, object]]) -> None:
    assert len(blocks) <= 50
    for raw in blocks:
        parsed = Block.parse(raw)
        assert parsed is not None
        parsed.validate_json()


def test_record_round_trips_through_hash_fields() -> None:
    original = approval(approved_by=["U1", "U2"], status=ApprovalStatus.EXECUTING, guards=["irreversible"])
    assert Approval.from_fields(original.to_fields()) == original


def test_hash_binds_action_parameters_and_environment() -> None:
    base = params_hash("run_script", {"argv": ["a"]}, "prod")
    assert base == params_hash("run_script", {"argv": ["a"]}, "prod")
    assert base != params_hash("run_script", {"argv": ["b"]}, "prod")
    assert base != params_hash("run_script", {"argv": ["a"]}, "staging")
    assert idempotency_key("x", base) != idempotency_key("y", base)


def test_open_step_shows_exactly_what_runs_and_three_buttons_with_only_the_id() -> None:
    blocks = render.plan_message("INC-1 · runbook rb", [approval()], ["a note"], now=110.0)
    valid(blocks)
    actions = next(b for b in blocks if b["type"] == "actions")
    assert [e["action_id"] for e in actions["elements"]] == ["approve_step", "dry_run_step", "skip_step"]
    assert {e["value"] for e in actions["elements"]} == {"a1b2c3"}
    assert "systemctl restart api" in str(blocks) and "<!channel>" not in str(blocks)
    assert "expires in 110s" in str(blocks)


def test_irreversible_approve_is_danger_with_a_confirm_dialog() -> None:
    (approve, *_) = render.buttons(approval(irreversible=True))
    assert approve["style"] == "danger" and approve["confirm"]["style"] == "danger"
    valid(render.plan_message("t", [approval(irreversible=True)], [], now=110.0))


def test_manual_step_has_mark_done_and_closed_states_have_no_buttons() -> None:
    manual = approval(kind=ApprovalKind.MANUAL, action=None, what_runs="", instructions="Look at the graph")
    assert [b["action_id"] for b in render.buttons(manual)] == ["mark_step_done", "skip_step"]
    for status in (ApprovalStatus.EXPIRED, ApprovalStatus.SUCCEEDED, ApprovalStatus.SKIPPED):
        blocks = render.plan_message("t", [approval(status=status, approved_by=["U1"], finished_by="U1")], [], 110.0)
        assert not any(b["type"] == "actions" for b in blocks)
    assert "expired" in str(render.plan_message("t", [approval()], [], now=500.0))


def test_result_output_is_escaped_and_cut() -> None:
    outcome = ExecutionOutcome(False, "output does not match 'ok'", "<@U1> " + "x" * 10_000, 1.5, None, "no rollback")
    blocks = render.result_message(approval(), outcome)
    valid(blocks)
    assert "<@U1>" not in str(blocks) and "no rollback" in str(blocks)
