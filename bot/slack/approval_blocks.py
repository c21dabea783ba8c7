"""Pure Block Kit renderers for approvals: the plan with buttons, its states, results and before/after. No I/O."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from bot.approvals.models import Approval, ApprovalKind, ApprovalStatus
from bot.approvals.ports import ExecutionOutcome
from bot.engine.types import DiagnosticResult
from bot.errors import InvalidInput
from bot.policy.approvers import EntryKind, parse_entry
from bot.slack.blocks import MAX_BLOCKS, VERDICT_ICON, Block, format_value, mrkdwn, section
from bot.slack.escape import code_block, escape_keeping_mentions, escape_text, truncate

OUTPUT_EXCERPT = 2500
BUTTON_TEXT = 75


class ActionId(StrEnum):
    """Action ids of the approval buttons; a button's value is only the opaque approval id."""

    APPROVE = "approve_step"
    DRY_RUN = "dry_run_step"
    SKIP = "skip_step"
    MARK_DONE = "mark_step_done"
    VERIFIED_OK = "verified_ok_step"
    VERIFIED_FAILED = "verified_failed_step"
    RUN_AGAIN = "run_again_step"


STATE_TEXT = {
    ApprovalStatus.SHADOW: ":ghost: *shadow mode*: not run; what would run is logged",
    ApprovalStatus.EXECUTING: ":hourglass_flowing_sand: approved by {by} · running",
    ApprovalStatus.APPROVED: ":hourglass_flowing_sand: approved by {by} · starting",
    ApprovalStatus.SUCCEEDED: ":white_check_mark: approved by {by} · succeeded ({result})",
    ApprovalStatus.FAILED: ":x: approved by {by} · failed: {result}",
    ApprovalStatus.DONE: ":white_check_mark: done by {finished}",
    ApprovalStatus.SKIPPED: ":fast_forward: skipped by {finished}",
    ApprovalStatus.EXPIRED: ":hourglass: *expired* · nothing ran",
    ApprovalStatus.REFUSED: ":no_entry: refused: {result}",
    ApprovalStatus.UNKNOWN: ":grey_question: approved by {by} · *outcome unknown: verify* — {result}",
    ApprovalStatus.INTERRUPTED: ":grey_question: approved by {by} · *interrupted, outcome unknown: verify* — {result}",
    ApprovalStatus.RERUN: ":repeat: outcome was unknown · {result}",
}


# Outcomes a person can set on an unsettled step (Verified OK, Failed, Run again); the line names them.
SETTLED_BY_PERSON = (ApprovalStatus.SUCCEEDED, ApprovalStatus.FAILED, ApprovalStatus.RERUN)


def _button(text: str, action: ActionId, approval_id: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text[:BUTTON_TEXT], "emoji": True},
        "action_id": action.value,
        "value": approval_id,
    }
    if style:
        button["style"] = style
    return button


def _confirm(approval: Approval) -> dict[str, Any]:
    text = truncate(f"This cannot be undone: {approval.what_runs}", 300)
    return {
        "title": {"type": "plain_text", "text": "Irreversible step"},
        "text": {"type": "plain_text", "text": text},
        "confirm": {"type": "plain_text", "text": "Run it"},
        "deny": {"type": "plain_text", "text": "Cancel"},
        "style": "danger",
    }


def buttons(approval: Approval) -> list[dict[str, Any]]:
    """The buttons an open request shows."""
    if approval.kind is ApprovalKind.MANUAL:
        return [
            _button("Mark done", ActionId.MARK_DONE, approval.id, "primary"),
            _button("Skip", ActionId.SKIP, approval.id),
        ]
    if approval.status is ApprovalStatus.SHADOW:
        return [_button("Dry run", ActionId.DRY_RUN, approval.id)]
    approve = _button("Approve", ActionId.APPROVE, approval.id, "danger" if approval.irreversible else "primary")
    if approval.irreversible:
        approve["confirm"] = _confirm(approval)
    return [approve, _button("Dry run", ActionId.DRY_RUN, approval.id), _button("Skip", ActionId.SKIP, approval.id)]


def risk_text(approval: Approval) -> str:
    """Irreversible, manual, the rollback offered on failure, else plainly "no rollback" (never a bare "reversible")."""
    if approval.irreversible:
        return ":warning: *irreversible*"
    if approval.kind is ApprovalKind.MANUAL:
        return "manual"
    rollback = next((g for g in approval.guards if g.startswith("rollback: ")), None)
    if rollback is None:
        return "no rollback"
    return f"if it fails, a rollback ({escape_text(rollback.removeprefix('rollback: '))}) is offered"


def step_text(approval: Approval) -> str:
    """What the step is, exactly what will run, its risk and why it is offered."""
    text = f"*{escape_text(approval.name)}* ({approval.kind.value}) · risk: {risk_text(approval)}"
    if approval.description:
        text += f"\n{escape_text(approval.description)}"
    if approval.what_runs:
        text += f"\n*Will run:* `{escape_text(approval.what_runs)}`"
    if approval.instructions:
        text += f"\n*Instructions:* {escape_text(approval.instructions)}"
    if approval.reason:
        text += f"\n_why: {escape_keeping_mentions(approval.reason)}_"
    return text


def approver_mention(entry: str) -> str:
    """An approvers entry as Slack shows it: a user or group mention, `@handle`, or the role."""
    try:
        parsed = parse_entry(entry)
    except InvalidInput:
        return escape_text(entry)
    # `@handle` groups stay as typed (escaped); ids become mentions Slack renders with the current name.
    return escape_text(entry) if parsed.kind is EntryKind.GROUP and entry.startswith("@") else str(parsed)


def state_line(approval: Approval, now: float) -> str:
    """The request's state in one line (open requests show who may approve and when it expires)."""
    by = ", ".join(f"<@{u}>" if u != "bot" else "the bot (automatic)" for u in approval.approved_by) or "nobody"
    lapsed = approval.status in (ApprovalStatus.PENDING, ApprovalStatus.SHADOW) and approval.expires_at <= now
    template = STATE_TEXT[ApprovalStatus.EXPIRED] if lapsed else STATE_TEXT.get(approval.status)
    if template is not None:
        line = template.format(by=by, result=escape_text(approval.result or ""), finished=f"<@{approval.finished_by}>")
        if approval.status in SETTLED_BY_PERSON and approval.finished_by[:1] in ("U", "W"):
            line += f" · by <@{approval.finished_by}>"
        return line
    who = ", ".join(approver_mention(a) for a in approval.approvers) or "anyone"
    left = max(0, int(approval.expires_at - now))
    line = f"approvers: {who} · trust: {approval.trust} · expires in {left}s"
    if approval.required > 1:
        line += f" · needs {approval.required} different approvers"
        if approval.approved_by:
            line += f" (approved so far by {by})"
    if approval.exclude_requester and approval.requester != "bot":
        line += f" · <@{approval.requester}> requested it and cannot approve"
    return line


def plan_message(title: str, approvals: Sequence[Approval], notes: Sequence[str], now: float) -> list[Block]:
    """The plan: one section per step, its state, and buttons while it is open (`title` is mrkdwn, escaped)."""
    if not approvals:
        blocks = [section(f":mag: *No further step offered* — {title}")]
    else:
        blocks = [section(f":compass: *Next safe step* — {title}")]
        for approval in approvals[: (MAX_BLOCKS - 2) // 3]:
            blocks.append(section(step_text(approval), block_id=f"step:{approval.id}"))
            blocks.append({"type": "context", "elements": [mrkdwn(state_line(approval, now))]})
            open_ = approval.status in (ApprovalStatus.PENDING, ApprovalStatus.SHADOW)
            if open_ and approval.expires_at > now:
                blocks.append({"type": "actions", "block_id": f"act:{approval.id}", "elements": buttons(approval)})
    if notes:
        joined = "\n".join(f"• {escape_text(n)}" for n in notes)
        blocks.append({"type": "context", "elements": [mrkdwn(truncate(joined, 2900))]})
    return blocks[:MAX_BLOCKS]


def plan_text(approvals: Sequence[Approval]) -> str:
    """Notification text of a plan message."""
    return f"{len(approvals)} step(s) offered" if approvals else "no further step offered"


def result_message(approval: Approval, outcome: ExecutionOutcome) -> list[Block]:
    """The result: verdict of the expectation, an output excerpt, and what about the rollback."""
    icon = ":white_check_mark:" if outcome.passed else ":x:"
    word = "succeeded" if outcome.passed else "failed"
    head = f"{icon} *{escape_text(approval.name)}* {word} in {outcome.duration_s:.1f}s"
    head += f" — expectation: {escape_text(outcome.verdict)}"
    excerpt = outcome.output.strip()[-OUTPUT_EXCERPT:] or "(no output)"
    blocks: list[Block] = [section(head), section(code_block(excerpt, OUTPUT_EXCERPT + 100))]
    if outcome.rollback_note:
        blocks.append(
            {
                "type": "context",
                "elements": [mrkdwn(f":leftwards_arrow_with_hook: {escape_text(outcome.rollback_note)}")],
            }
        )
    return blocks


def result_text(approval: Approval, outcome: ExecutionOutcome) -> str:
    """Notification text of a result message."""
    return f"Result: {approval.name} {'succeeded' if outcome.passed else 'failed'}"


def before_after(before: dict[str, Any], after: Sequence[DiagnosticResult]) -> list[Block]:
    """Each diagnostic's verdict and value before the step and after it."""
    lines = []
    for result in after:
        old = before.get(result.id) or {}
        was = f"{old.get('status', 'n/a')} `{format_value(old.get('value'))}`"
        now = f"{VERDICT_ICON[result.status]} {result.status.value} `{format_value(result.value)}`"
        lines.append(f"*{escape_text(result.name)}*: {was} → {now}")
    body = "\n".join(lines) or "no diagnostics to compare"
    return [section(":bar_chart: *Before → after*"), section(truncate(body, 2900))]


def verify_buttons(approval: Approval) -> list[dict[str, Any]]:
    """The three ways to settle an unknown outcome; Run again only creates a new request."""
    return [
        _button("Verified OK", ActionId.VERIFIED_OK, approval.id, "primary"),
        _button("Failed: offer rollback", ActionId.VERIFIED_FAILED, approval.id, "danger"),
        _button("Run again", ActionId.RUN_AGAIN, approval.id),
    ]


def verify_message(approval: Approval) -> list[Block]:
    """ "Outcome unknown: verify": what was running, why nobody knows how it ended, and the buttons while open."""
    word = "interrupted" if approval.status is ApprovalStatus.INTERRUPTED else "lost its runner"
    head = f":grey_question: *Outcome unknown: verify* — *{escape_text(approval.name)}* {word}"
    body = f"*It was running:* `{escape_text(approval.what_runs)}`" if approval.what_runs else ""
    why = f"_{escape_text(approval.result)}_" if approval.status.is_unsettled and approval.result else ""
    blocks: list[Block] = [section("\n".join(x for x in (head, body, why) if x), block_id=f"verify:{approval.id}")]
    if approval.status.is_unsettled:
        hint = "Check the target, then say what happened. Nothing runs again without a new approval."
        blocks.append({"type": "context", "elements": [mrkdwn(hint)]})
        blocks.append({"type": "actions", "block_id": f"vact:{approval.id}", "elements": verify_buttons(approval)})
    else:
        settled = escape_text(approval.result or approval.status.value)
        who = f" · by <@{approval.finished_by}>" if approval.finished_by[:1] in ("U", "W") else ""
        blocks.append({"type": "context", "elements": [mrkdwn(f":ballot_box_with_check: settled: {settled}{who}")]})
    return blocks


def verify_text(approval: Approval) -> str:
    """Notification text of the verify message."""
    return f"Outcome unknown: verify {approval.name}"
