"""Reactions on stored messages: add, remove, their `reaction_added` / `reaction_removed` events, reactions.*."""

from __future__ import annotations

from typing import Any

from bot.sandbox.emulator.args import Args, Handler
from bot.sandbox.emulator.errors import SlackApiFailure
from bot.sandbox.emulator.methods_conversations import visible_channel
from bot.sandbox.emulator.records import Channel, Message
from bot.sandbox.emulator.state import Workspace


def reaction_event(
    ws: Workspace, kind: str, user: str, name: str, channel: Channel, message: Message
) -> dict[str, Any]:
    """A `reaction_added` or `reaction_removed` event, shaped as Slack's Events API sends it."""
    return {
        "type": kind,
        "user": user,
        "reaction": name,
        "item_user": message.user,
        "item": {"type": "message", "channel": channel.id, "ts": message.ts},
        "event_ts": ws.next_ts(),
    }


def add_reaction(ws: Workspace, user: str, name: str, channel: Channel, message: Message) -> dict[str, Any]:
    """Put `user`'s `name` reaction on the message; already_reacted when it is there; returns the event."""
    users = message.reactions.setdefault(name, [])
    if user in users:
        raise SlackApiFailure("already_reacted")
    users.append(user)
    return reaction_event(ws, "reaction_added", user, name, channel, message)


def remove_reaction(ws: Workspace, user: str, name: str, channel: Channel, message: Message) -> dict[str, Any]:
    """Take `user`'s `name` reaction off the message; no_reaction when it is not there; returns the event."""
    users = message.reactions.get(name) or []
    if user not in users:
        raise SlackApiFailure("no_reaction")
    users.remove(user)
    if not users:
        message.reactions.pop(name, None)
    return reaction_event(ws, "reaction_removed", user, name, channel, message)


def _target(ws: Workspace, args: Args) -> tuple[str, Channel, Message]:
    name = args.required("name", "invalid_name").strip(":")
    channel = visible_channel(ws, args)
    message = channel.find_message(args.text("timestamp"))
    if message is None or message.deleted:
        raise SlackApiFailure("message_not_found")
    return name, channel, message


def reactions_add(ws: Workspace, args: Args) -> dict[str, Any]:
    """reactions.add (as the bot); the bot's own reaction is an event too, as on Slack."""
    name, channel, message = _target(ws, args)
    ws.emit(add_reaction(ws, ws.bot_user_id, name, channel, message))
    return {}


def reactions_remove(ws: Workspace, args: Args) -> dict[str, Any]:
    """reactions.remove (as the bot)."""
    name, channel, message = _target(ws, args)
    ws.emit(remove_reaction(ws, ws.bot_user_id, name, channel, message))
    return {}


def reactions_get(ws: Workspace, args: Args) -> dict[str, Any]:
    """reactions.get: the message with its reactions."""
    channel = visible_channel(ws, args)
    message = channel.find_message(args.text("timestamp"))
    if message is None or message.deleted:
        raise SlackApiFailure("message_not_found")
    return {"type": "message", "channel": channel.id, "message": message.to_api()}


HANDLERS: dict[str, Handler] = {
    "reactions.add": reactions_add,
    "reactions.remove": reactions_remove,
    "reactions.get": reactions_get,
}
