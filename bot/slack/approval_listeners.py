"""The Slack edge of approvals: button listeners, the presenter that posts and edits, `/incident request`."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.approvals.models import Approval
from bot.approvals.ports import ExecutionOutcome, Reply, ReplyKind
from bot.approvals.store import ApprovalGroup, ApprovalStore
from bot.engine.types import DiagnosticResult
from bot.errors import UpstreamError
from bot.incidents.models import Incident
from bot.slack import approval_blocks as render
from bot.slack.access_gate import gate_of
from bot.slack.approval_blocks import ActionId
from bot.slack.click_replies import Flow, answer_clicker
from bot.slack.clicks import ack_timed, click_channel
from bot.slack.commands import CommandContext, subcommand
from bot.slack.errors import reply_for_error
from bot.slack.escape import escape_keeping_mentions, escape_text
from bot.slack.gateway import Priority, SlackGateway
from bot.slack.incident_commands import target_incident
from bot.slack.invites import invite_responders

if TYPE_CHECKING:
    from bot.approvals.service import ApprovalService
    from bot.services import BotServices


MEMBERS_TTL_S = 30.0


class SlackApprovalPresenter:
    """Posts plans, results and before/after through the gateway; resolves user groups with a short cache."""

    def __init__(self, gateway: SlackGateway, store: ApprovalStore, clock: Callable[[], float] = time.time) -> None:
        self.gateway = gateway
        self.store = store
        self.clock = clock
        self._members: dict[str, tuple[float, frozenset[str]]] = {}

    async def show_plan(
        self, incident: Incident, group: ApprovalGroup, approvals: Sequence[Approval]
    ) -> tuple[str, str] | None:
        """Post the plan with its buttons to the incident channel."""
        if not incident.channel_id:
            return None
        blocks = render.plan_message(_title(incident, group), approvals, group.notes, self.clock())
        text = f"{incident.id}: {render.plan_text(approvals)}"
        ts = await self.gateway.post_message(incident.channel_id, text, blocks, Priority.APPROVAL)
        return incident.channel_id, ts

    async def refresh(self, approval: Approval) -> None:
        """Re-render the whole message from stored state (its other steps included)."""
        fresh = await self.store.get(approval.incident_id, approval.id) or approval
        if not fresh.channel or not fresh.message_ts or not fresh.group:
            return
        group = await self.store.get_group(fresh.incident_id, fresh.group)
        if group is None:
            return
        approvals = await self.store.get_many(fresh.incident_id, group.approval_ids)
        blocks = render.plan_message(_title(None, group, fresh.incident_id), approvals, group.notes, self.clock())
        text = f"{fresh.incident_id}: {render.plan_text(approvals)}"
        await self.gateway.update_message(fresh.channel, fresh.message_ts, text, blocks, Priority.APPROVAL)

    async def show_result(self, incident: Incident, approval: Approval, outcome: ExecutionOutcome) -> None:
        """Post the execution result in the channel."""
        channel = approval.channel or incident.channel_id
        if channel:
            blocks = render.result_message(approval, outcome)
            await self.gateway.post_message(channel, render.result_text(approval, outcome), blocks, Priority.APPROVAL)

    async def show_before_after(
        self, incident: Incident, approval: Approval, before: dict[str, Any], after: Sequence[DiagnosticResult]
    ) -> None:
        """Post the diagnostics before and after the step."""
        channel = approval.channel or incident.channel_id
        if channel:
            await self.gateway.post_message(channel, f"{incident.id}: before/after", render.before_after(before, after))

    async def members(self, group: str) -> frozenset[str]:
        """Members of a user group by id (or @handle, looked up with usergroups.list), cached briefly."""
        cached = self._members.get(group)
        if cached is not None and cached[0] > self.clock():
            return cached[1]
        group_id = await self._group_id(group) if group.startswith("@") else group
        response = await self.gateway.call("usergroups.users.list", usergroup=group_id)
        users = frozenset(str(u) for u in response.get("users", []))
        self._members[group] = (self.clock() + MEMBERS_TTL_S, users)
        return users

    async def _group_id(self, handle: str) -> str:
        response = await self.gateway.call("usergroups.list")
        for item in response.get("usergroups", []):
            if item.get("handle") == handle[1:]:
                return str(item["id"])
        raise UpstreamError(f"no user group with the handle {handle}")


def _title(incident: Incident | None, group: ApprovalGroup, incident_id: str = "") -> str:
    # Rendered as mrkdwn as is: the runbook name is escaped here; the bot's own title keeps its mentions.
    name = f"runbook {escape_text(group.runbook_name)}"
    title = f" · {escape_keeping_mentions(group.title)}" if group.title else ""
    return f"{incident.id if incident else incident_id} · {name}{title}"


def register(app: AsyncApp, services: BotServices) -> None:
    """Attach the approval button listeners (ack at once, then call the flow, answer the clicker privately)."""
    approvals = services.approvals
    if approvals is None:
        return
    presenter = approvals.presenter
    assert isinstance(presenter, SlackApprovalPresenter)
    flows: dict[ActionId, Flow] = {
        ActionId.APPROVE: approvals.approve,
        ActionId.DRY_RUN: approvals.dry_run,
        ActionId.SKIP: approvals.skip,
        ActionId.MARK_DONE: approvals.mark_done,
    }
    for action_id, flow in flows.items():
        app.action(action_id.value)(_listener(action_id, flow, presenter, gate_of(services).check_click))


ClickGuard = Callable[[str, str, str], Awaitable[str | None]]


def _listener(
    action_id: ActionId, flow: Flow, presenter: SlackApprovalPresenter, guard: ClickGuard
) -> Callable[..., Awaitable[None]]:
    async def handle_approval_action(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack_timed(ack)
        user = body["user"]["id"]
        channel = click_channel(body)
        value = str(body["actions"][0].get("value", ""))
        try:
            refused = await guard(value, user, channel)
            reply = Reply(ReplyKind.REFUSED, refused) if refused else await flow(value, user)
        except Exception as exc:
            reply = Reply(ReplyKind.INFO, reply_for_error(exc))
        if action_id is ActionId.APPROVE and reply.kind is not ReplyKind.REFUSED:
            await invite_responders(presenter.gateway, channel, [user])  # approvers who click join the incident
        await answer_clicker(presenter.gateway, respond, channel, user, reply)

    handle_approval_action.__name__ = f"handle_{action_id.value}_action"
    return handle_approval_action


@subcommand("request", "request <step> [INC-n]", "offer one runbook step with you as its requester (four-eyes)")
async def handle_request(ctx: CommandContext) -> str:
    """Offer one step of the incident's runbook on request."""
    approvals: ApprovalService | None = ctx.services.approvals
    if approvals is None or not ctx.args:
        return "Name the step: `/incident request restart_api`."
    step_id = ctx.args.pop(0)
    incident = await target_incident(ctx)
    approval = await approvals.request_step(incident, step_id, ctx.user_id)
    return f"Offered *{approval.name}* on {incident.id}; someone else approves it if it is irreversible."
