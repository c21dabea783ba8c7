"""chat.* Web API methods: post, update, delete, ephemeral and permalinks, with Slack's message rules."""

from __future__ import annotations

from typing import Any

from bot.sandbox.emulator.args import Args, Handler
from bot.sandbox.emulator.errors import SlackApiFailure
from bot.sandbox.emulator.methods_conversations import visible_channel
from bot.sandbox.emulator.records import Channel, Edit, Ephemeral, Message
from bot.sandbox.emulator.state import Workspace
from bot.sandbox.emulator.validation import check_message_text, parse_blocks, with_block_ids


def target_channel(ws: Workspace, ref: str | None) -> Channel:
    """Where chat.postMessage posts: a channel id, a "#name", or a user id meaning the bot's DM with them."""
    if not ref:
        raise SlackApiFailure("channel_not_found")
    if ref[0] in "UW" and ref in ws.users:
        return ws.open_dm([ref])
    channel = ws.channels.get(ref) or (ws.find_channel(ref) if ref.startswith("#") else None)
    if channel is None or (channel.is_private and ws.bot_user_id not in channel.members):
        raise SlackApiFailure("channel_not_found")
    return channel


def _postable(ws: Workspace, channel: Channel) -> Channel:
    if channel.is_archived:
        raise SlackApiFailure("is_archived")
    if ws.bot_user_id not in channel.members:
        raise SlackApiFailure("not_in_channel")
    return channel


def _content(args: Args) -> tuple[str | None, list[dict[str, Any]] | None]:
    blocks = with_block_ids(parse_blocks(args.raw.get("blocks")))
    text = args.text("text")
    check_message_text(text, blocks)
    return text, blocks


def _own_message(ws: Workspace, channel: Channel, ts: str | None, error: str) -> Message:
    message = channel.find_message(ts)
    if message is None:
        raise SlackApiFailure("message_not_found")
    if message.user != ws.bot_user_id:
        raise SlackApiFailure(error)
    return message


def post_message(ws: Workspace, args: Args) -> dict[str, Any]:
    """chat.postMessage"""
    channel = _postable(ws, target_channel(ws, args.text("channel")))
    text, blocks = _content(args)
    message = ws.post_as_bot(channel, text=text, blocks=blocks, thread_ts=args.text("thread_ts"))
    return {"channel": channel.id, "ts": message.ts, "message": message.to_api()}


def update(ws: Workspace, args: Args) -> dict[str, Any]:
    """chat.update: text and blocks left out keep their old values; the old version goes to `edits`."""
    channel = visible_channel(ws, args)
    if channel.is_archived:
        raise SlackApiFailure("is_archived")
    message = _own_message(ws, channel, args.text("ts"), "cant_update_message")
    text = args.text("text") if "text" in args.raw else message.text
    blocks = with_block_ids(parse_blocks(args.raw["blocks"])) if "blocks" in args.raw else message.blocks
    check_message_text(text, blocks)
    message.edits.append(Edit(edited_at=ws.next_ts(), text=message.text, blocks=message.blocks))
    message.text, message.blocks = text, blocks
    return {"channel": channel.id, "ts": message.ts, "text": text or "", "message": message.to_api()}


def delete(ws: Workspace, args: Args) -> dict[str, Any]:
    """chat.delete"""
    channel = visible_channel(ws, args)
    message = _own_message(ws, channel, args.text("ts"), "cant_delete_message")
    message.deleted = True
    return {"channel": channel.id, "ts": message.ts}


def post_ephemeral(ws: Workspace, args: Args) -> dict[str, Any]:
    """chat.postEphemeral: the user must be in the channel, and so must the bot."""
    channel = _postable(ws, target_channel(ws, args.text("channel")))
    user_id = args.required("user", "user_not_found")
    if user_id not in ws.users:
        raise SlackApiFailure("user_not_found")
    if user_id not in channel.members:
        raise SlackApiFailure("user_not_in_channel")
    text, blocks = _content(args)
    ephemeral = Ephemeral(
        ts=ws.next_ts(),
        channel_id=channel.id,
        user=user_id,
        text=text,
        blocks=blocks,
        source="chat.postEphemeral",
        thread_ts=args.text("thread_ts"),
    )
    ws.ephemerals.append(ephemeral)
    return {"message_ts": ephemeral.ts}


def get_permalink(ws: Workspace, args: Args) -> dict[str, Any]:
    """chat.getPermalink"""
    channel = visible_channel(ws, args)
    ts = args.text("message_ts")
    if channel.find_message(ts) is None or ts is None:
        raise SlackApiFailure("message_not_found")
    link = f"https://{ws.team_domain}.slack.com/archives/{channel.id}/p{ts.replace('.', '')}"
    return {"channel": channel.id, "permalink": link}


HANDLERS: dict[str, Handler] = {
    "chat.postMessage": post_message,
    "chat.update": update,
    "chat.delete": delete,
    "chat.postEphemeral": post_ephemeral,
    "chat.getPermalink": get_permalink,
}
