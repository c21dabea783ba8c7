"""The Slack edge of unsettled steps: the "outcome unknown: verify" message and its three buttons."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.approvals.models import Approval
from bot.approvals.ports import Reply, ReplyKind
from bot.incidents.models import Incident
from bot.slack import approval_blocks as render
from bot.slack.approval_blocks import ActionId
from bot.slack.click_replies import Flow, answer_clicker
from bot.slack.clicks import ack_timed, click_channel
from bot.slack.errors import reply_for_error
from bot.slack.gateway import Priority, SlackGateway

if TYPE_CHECKING:
    from bot.services import BotServices


class SlackOutcomePresenter:
    """Posts and re-renders the verify message through the gateway (approval priority)."""

    def __init__(self, gateway: SlackGateway) -> None:
        self.gateway = gateway

    async def show_unknown(self, incident: Incident, approval: Approval) -> tuple[str, str] | None:
        """Post "outcome unknown: verify" with its buttons in the incident channel."""
        channel = approval.channel or incident.channel_id
        if not channel:
            return None
        blocks = render.verify_message(approval)
        ts = await self.gateway.post_message(channel, render.verify_text(approval), blocks, Priority.APPROVAL)
        return channel, ts

    async def refresh_unknown(self, approval: Approval, channel: str, ts: str) -> None:
        """Re-render the verify message (the buttons go once it is settled)."""
        blocks = render.verify_message(approval)
        await self.gateway.update_message(channel, ts, render.verify_text(approval), blocks, Priority.APPROVAL)


def register(app: AsyncApp, services: BotServices) -> None:
    """Attach Verified OK, Failed: offer rollback and Run again (ack at once, answer the clicker privately)."""
    approvals = services.approvals
    if approvals is None:
        return
    flows: dict[ActionId, Flow] = {
        ActionId.VERIFIED_OK: approvals.verify.verified_ok,
        ActionId.VERIFIED_FAILED: approvals.verify.verified_failed,
        ActionId.RUN_AGAIN: approvals.verify.run_again,
    }
    for action_id, flow in flows.items():
        app.action(action_id.value)(_listener(action_id, flow, services.gateway))


def _listener(action_id: ActionId, flow: Flow, gateway: SlackGateway) -> Callable[..., Awaitable[None]]:
    async def handle_verify_action(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack_timed(ack)
        user = body["user"]["id"]
        channel = click_channel(body)
        value = str(body["actions"][0].get("value", ""))
        try:
            reply = await flow(value, user)
        except Exception as exc:
            reply = Reply(ReplyKind.INFO, reply_for_error(exc))
        await answer_clicker(gateway, respond, channel, user, reply)

    handle_verify_action.__name__ = f"handle_{action_id.value}_action"
    return handle_verify_action
