"""`/incident close`, `reopen` and `postmortem`, and the two buttons of the close check.

Closing asks first when what `CLOSE_REQUIRES` names is missing (a post-mortem draft, follow-ups):
an ephemeral with "Close anyway" and "Create draft". Once closed, the channel is archived after
`ARCHIVE_AFTER_HOURS` by a durable timer; a reopen cancels it and unarchives the channel.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.escalation.timers import TimerStore
from bot.followups.store import FollowUpStore
from bot.incidents.closing import ArchiveTimers, missing_for_close, parse_requirements
from bot.incidents.models import Incident, Status
from bot.incidents.names import NameCache
from bot.slack.access_gate import gate_of
from bot.slack.archive import SlackChannelArchiver
from bot.slack.clicks import click_channel
from bot.slack.commands import BlockReply, CommandContext, subcommand
from bot.slack.errors import reply_for_error
from bot.slack.incident_commands import target_incident
from bot.slack.names import SlackNames
from bot.slack.postmortem_publish import PostmortemPublisher

if TYPE_CHECKING:
    from bot.services import BotServices

_MISSING_WORDS = {"postmortem": "no post-mortem draft", "followups": "no follow-ups"}


class CloseAction(StrEnum):
    """Action ids of the close check's buttons."""

    CLOSE_ANYWAY = "close_anyway"
    CREATE_DRAFT = "close_create_draft"


def closing_of(services: BotServices) -> ArchiveTimers:
    """The archive timers; built on the spot (arming only) when the services were assembled without them."""
    if services.closing is None:
        timers = TimerStore(services.store.redis, services.store.keys)
        after = timedelta(hours=services.settings.archive_after_hours)
        services.closing = ArchiveTimers(services.store, timers, SlackChannelArchiver(services.gateway), after)
    return services.closing


def postmortems_of(services: BotServices) -> PostmortemPublisher:
    """The post-mortem publisher, built on first use."""
    if services.postmortems is None:
        names = SlackNames(services.gateway, NameCache(services.store.redis, services.store.keys))
        services.postmortems = PostmortemPublisher(services.gateway, services.store, names)
    return services.postmortems


async def close_incident(services: BotServices, incident_id: str, user: str) -> str:
    """Close, stop what still runs for the incident, and arm the archive."""
    updated = await services.store.transition(incident_id, Status.CLOSED, actor=user)
    services.tasks.spawn(services.notifier.incident_updated(updated), "header", updated.id)
    services.tasks.spawn(services.flows.incident_ended(updated), "stop-escalation", updated.id)
    due = await closing_of(services).incident_closed(updated)
    return f"{updated.id} closed by <@{user}>. Its channel is archived at {due:%Y-%m-%d %H:%M} UTC."


def ask_blocks(incident: Incident, text: str) -> list[dict[str, Any]]:
    """The close check: what is missing, and the two ways on."""

    def button(label: str, action: CloseAction, style: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "button",
            "text": {"type": "plain_text", "text": label},
            "action_id": action.value,
            "value": incident.id,
        }
        return {**body, "style": style} if style else body

    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {
            "type": "actions",
            "elements": [
                button("Close anyway", CloseAction.CLOSE_ANYWAY, "danger"),
                button("Create draft", CloseAction.CREATE_DRAFT, "primary"),
            ],
        },
    ]


@subcommand(
    "close",
    "close [INC-n] [anyway]",
    "close a resolved incident (asks first when the post-mortem draft or follow-ups are missing); "
    "the channel is archived later",
)
async def handle_close(ctx: CommandContext) -> str:
    """Close the incident, or ask first when something it should have is missing."""
    anyway = bool(ctx.args) and ctx.args[-1].lower() == "anyway"
    if anyway:
        ctx.args.pop()
    incident = await target_incident(ctx)
    incident.model_copy().transition(Status.CLOSED)  # an illegal move is refused before anything is asked
    required = parse_requirements(ctx.services.settings.close_requires)
    followups = await FollowUpStore(ctx.services.store.redis, ctx.services.store.keys).list_incident(incident.id)
    missing = [] if anyway else missing_for_close(incident, len(followups), required)
    if not missing:
        return await close_incident(ctx.services, incident.id, ctx.user_id)
    text = f"{incident.id} has " + " and ".join(_MISSING_WORDS[m] for m in missing) + " yet."
    fallback = f"Not closed: {text} `/incident close {incident.id} anyway` closes it as it is."
    return BlockReply(fallback, ask_blocks(incident, f"*Not closed:* {text} Close anyway, or create the draft first?"))


@subcommand("reopen", "reopen [INC-n]", "reopen a resolved or closed incident (unarchives its channel)")
async def handle_reopen(ctx: CommandContext) -> str:
    """Reopen the incident; a pending archive is cancelled and an archived channel comes back."""
    incident = await target_incident(ctx)
    updated = await ctx.services.store.transition(incident.id, Status.TRIGGERED, actor=ctx.user_id)
    # Unarchived before the header is redrawn: an archived channel refuses edits.
    await closing_of(ctx.services).incident_reopened(updated)
    ctx.services.tasks.spawn(ctx.services.notifier.incident_updated(updated), "header", updated.id)
    return f"{updated.id} reopened by <@{ctx.user_id}>."


@subcommand("postmortem", "postmortem [INC-n]", "post the post-mortem draft to the channel (canvas, else a file)")
async def handle_postmortem(ctx: CommandContext) -> str:
    """Draft the post-mortem and post it in the incident channel."""
    incident = await target_incident(ctx)
    published = await postmortems_of(ctx.services).publish(incident.id, ctx.user_id)
    return (
        f"Post-mortem draft for {incident.id} posted as a {published.kind}: {published.link} — "
        f"`runbookctl postmortem {incident.id}` prints it as Markdown."
    )


def register(app: AsyncApp, services: BotServices) -> None:
    """Attach the close check's buttons (ack at once; the answer replaces the check)."""

    @app.action(CloseAction.CLOSE_ANYWAY.value)
    async def handle_close_anyway_action(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await _answer(body, respond, services, "close")

    @app.action(CloseAction.CREATE_DRAFT.value)
    async def handle_create_draft_action(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await _answer(body, respond, services, "postmortem")


async def _answer(body: dict[str, Any], respond: AsyncRespond, services: BotServices, action: str) -> None:
    user = body["user"]["id"]
    channel = click_channel(body)
    try:
        incident = await services.store.get_incident_or_raise(str(body["actions"][0].get("value", "")))
        await gate_of(services).require(user, action, incident, channel)
        if action == "close":
            text = await close_incident(services, incident.id, user)
        else:
            published = await postmortems_of(services).publish(incident.id, user)
            text = f"Draft posted as a {published.kind}: {published.link}. `/incident close` when ready."
    except Exception as exc:
        text = reply_for_error(exc)
    await respond(text=text, response_type="ephemeral", replace_original=True)
