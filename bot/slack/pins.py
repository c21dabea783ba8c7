"""Timeline capture from Slack: a pin reaction on a message of an incident channel, and `/incident note <text>`."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.errors import BotError, InvalidInput
from bot.incidents.pins import PinnedMessage, TimelineCapture
from bot.services import BotServices
from bot.slack.commands import RAW_TEXT, CommandContext, is_incident_id, subcommand, text_after_name
from bot.slack.escape import escape_text, from_slack, truncate
from bot.slack.gateway import Priority
from bot.slack.incident_commands import target_incident

log = logging.getLogger(__name__)
NOTE_CHARS = 3000


def capture_of(services: BotServices) -> TimelineCapture:
    """The timeline capture over the services' store (cheap: its scripts load on first call)."""
    return TimelineCapture(services.store, services.store.clock)


def pin_emoji(services: BotServices) -> str:
    """The reaction name that pins, without colons (setting TIMELINE_PIN_EMOJI)."""
    return services.settings.timeline_pin_emoji.strip(":")


async def read_message(services: BotServices, channel: str, ts: str) -> dict[str, Any] | None:
    """The message `ts` of `channel`, top-level or in a thread, as Slack returns it; None when it is gone."""
    gateway = services.gateway
    found = await gateway.call(
        "conversations.history", Priority.NORMAL, channel=channel, latest=ts, oldest=ts, inclusive=True, limit=1
    )
    for message in found.get("messages") or []:
        if message.get("ts") == ts:
            return dict(message)
    try:
        thread = await gateway.call("conversations.replies", Priority.NORMAL, channel=channel, ts=ts, limit=1000)
    except BotError:
        return None
    return next((dict(m) for m in thread.get("messages") or [] if m.get("ts") == ts), None)


async def permalink(services: BotServices, channel: str, ts: str) -> str | None:
    """The message's permalink; None (logged) when Slack will not give one."""
    try:
        response = await services.gateway.call("chat.getPermalink", Priority.NORMAL, channel=channel, message_ts=ts)
    except BotError as exc:
        log.warning("no permalink for a pinned message", extra={"channel": channel, "error": str(exc)})
        return None
    return str(response.get("permalink") or "") or None


async def on_reaction(services: BotServices, body: dict[str, Any], added: bool) -> str | None:
    """Apply one reaction event to its incident's timeline; the entry id written or marked removed, else None."""
    event = body.get("event") or {}
    item = event.get("item") or {}
    if event.get("reaction") != pin_emoji(services) or item.get("type") != "message":
        return None
    channel, ts, user = str(item.get("channel", "")), str(item.get("ts", "")), str(event.get("user", ""))
    incident = await services.store.find_by_channel(channel)
    if incident is None or not ts or not user:
        return None
    event_id = str(body.get("event_id") or "")
    capture = capture_of(services)
    if not added:
        return await capture.unpin(incident.id, ts, user, event_id)
    message = await read_message(services, channel, ts)
    if message is None:
        log.info("pinned message not found", extra={"incident": incident.id, "ts": ts})
        return None
    pinned = PinnedMessage(
        channel=channel,
        ts=ts,
        author=str(message.get("user") or message.get("bot_id") or event.get("item_user") or ""),
        text=from_slack(str(message.get("text") or "")),  # the edge in: stored as the person wrote it
        permalink=await permalink(services, channel, ts),
    )
    return await capture.pin(incident.id, pinned, user, event_id)


@subcommand("note", "note [INC-n] <text>", "add a note to the incident's timeline")
async def handle_note(ctx: CommandContext) -> str:
    """Add the text, exactly as typed, to the timeline."""
    text = text_after_name(ctx.text)
    first = text.split(maxsplit=1)
    if first and is_incident_id(first[0]):
        ctx.args[:] = [first[0]]
        text = first[1] if len(first) > 1 else ""
    else:
        ctx.args[:] = []
    if not text.strip():
        raise InvalidInput("write the note: `/incident note restarted the canary by hand`", ["text"])
    incident = await target_incident(ctx)
    await capture_of(ctx.services).note(incident.id, truncate(text.strip(), NOTE_CHARS), ctx.user_id)
    return f"Noted on {incident.id}: {escape_text(truncate(text.strip(), 200))}"


RAW_TEXT.add("note")


def register(app: AsyncApp, services: BotServices) -> None:
    """Attach the reaction listeners (Bolt acks events before they run)."""

    @app.event("reaction_added")
    async def handle_reaction_added(body: dict[str, Any]) -> None:
        await _apply(services, body, added=True)

    @app.event("reaction_removed")
    async def handle_reaction_removed(body: dict[str, Any]) -> None:
        await _apply(services, body, added=False)


async def _apply(services: BotServices, body: dict[str, Any], added: bool) -> None:
    try:
        await on_reaction(services, body, added)
    except BotError as exc:
        log.warning("reaction not applied to the timeline", extra={"added": added, "error": str(exc)})
