"""conversations.* Web API methods with Slack's membership, archive and naming rules."""

from __future__ import annotations

from typing import Any

from bot.sandbox.emulator.args import Args, Handler, paginate
from bot.sandbox.emulator.errors import SlackApiFailure
from bot.sandbox.emulator.records import Channel
from bot.sandbox.emulator.state import Workspace
from bot.sandbox.emulator.validation import TOPIC_MAX, check_channel_name


def visible_channel(ws: Workspace, args: Args, name: str = "channel") -> Channel:
    """The channel named by id; a private one the bot is not in does not exist for it."""
    channel = ws.api_channel(args.text(name))
    if channel.is_private and ws.bot_user_id not in channel.members:
        raise SlackApiFailure("channel_not_found")
    return channel


def writable_channel(ws: Workspace, args: Args, name: str = "channel") -> Channel:
    """A channel the bot may change: it exists, is not archived and the bot is a member."""
    channel = visible_channel(ws, args, name)
    if channel.is_archived:
        raise SlackApiFailure("is_archived")
    if ws.bot_user_id not in channel.members:
        raise SlackApiFailure("not_in_channel")
    return channel


def add_members(ws: Workspace, channel: Channel, user_ids: list[str]) -> None:
    """Add members and the channel_join messages Slack writes for them."""
    for user_id in user_ids:
        if user_id not in channel.members:
            channel.members.append(user_id)
            ws.post(channel, user_id, text=f"<@{user_id}> has joined the channel", subtype="channel_join")


def _info(ws: Workspace, channel: Channel) -> dict[str, Any]:
    body = channel.to_api(ws.bot_user_id)
    canvas = ws.documents.channel_canvas(channel.id)
    if canvas is not None:
        body["properties"] = {"canvas": {"file_id": canvas.id, "is_empty": not canvas.markdown}}
    return {"channel": body}


def create(ws: Workspace, args: Args) -> dict[str, Any]:
    """conversations.create"""
    name = check_channel_name(args.text("name"))
    channel = ws.create_channel(name, ws.bot_user_id, is_private=args.flag("is_private"))
    return _info(ws, channel)


def invite(ws: Workspace, args: Args) -> dict[str, Any]:
    """conversations.invite: all or nothing unless force=true; per-user failures listed in `errors`."""
    channel = writable_channel(ws, args)
    user_ids = args.id_list("users")
    if not user_ids:
        raise SlackApiFailure("no_user")
    failures: list[dict[str, Any]] = []
    valid: list[str] = []
    for user_id in user_ids:
        user = ws.users.get(user_id)
        error = None
        if user is None or user.deleted:
            error = "user_not_found"
        elif user_id == ws.bot_user_id:
            error = "cant_invite_self"
        elif user_id in channel.members:
            error = "already_in_channel"
        if error:
            failures.append({"user": user_id, "ok": False, "error": error})
        else:
            valid.append(user_id)
    if failures and not args.flag("force"):
        raise SlackApiFailure(failures[0]["error"], errors=failures)
    add_members(ws, channel, valid)
    body = _info(ws, channel)
    if failures:
        body["errors"] = failures
    return body


def info(ws: Workspace, args: Args) -> dict[str, Any]:
    """conversations.info"""
    return _info(ws, visible_channel(ws, args))


def _set_text(ws: Workspace, args: Args, field: str) -> dict[str, Any]:
    channel = writable_channel(ws, args)
    value = args.text(field) or ""
    if len(value) > TOPIC_MAX:
        raise SlackApiFailure("too_long")
    setattr(channel, field, value)
    text = f"set the channel {field}: {value}"
    ws.post_as_bot(channel, text=text, subtype=f"channel_{field}")
    return _info(ws, channel)


def set_topic(ws: Workspace, args: Args) -> dict[str, Any]:
    """conversations.setTopic"""
    return _set_text(ws, args, "topic")


def set_purpose(ws: Workspace, args: Args) -> dict[str, Any]:
    """conversations.setPurpose"""
    return _set_text(ws, args, "purpose")


def archive(ws: Workspace, args: Args) -> dict[str, Any]:
    """conversations.archive"""
    channel = visible_channel(ws, args)
    if channel.is_im or channel.is_mpim:
        raise SlackApiFailure("method_not_supported_for_channel_type")
    if channel.is_archived:
        raise SlackApiFailure("already_archived")
    if ws.bot_user_id not in channel.members:
        raise SlackApiFailure("not_in_channel")
    channel.is_archived = True
    return {}


def rename(ws: Workspace, args: Args) -> dict[str, Any]:
    """conversations.rename"""
    channel = writable_channel(ws, args)
    name = check_channel_name(args.text("name"))
    other = ws.find_channel(name)
    if other is not None and other is not channel:
        raise SlackApiFailure("name_taken")
    channel.name = name
    return _info(ws, channel)


def join(ws: Workspace, args: Args) -> dict[str, Any]:
    """conversations.join: public channels only; joining twice answers with a warning."""
    channel = ws.api_channel(args.text("channel"))
    if channel.is_private or channel.is_im or channel.is_mpim:
        raise SlackApiFailure("method_not_supported_for_channel_type")
    if channel.is_archived:
        raise SlackApiFailure("is_archived")
    already = ws.bot_user_id in channel.members
    add_members(ws, channel, [ws.bot_user_id])
    body = _info(ws, channel)
    if already:
        body["warning"] = "already_in_channel"
    return body


def members(ws: Workspace, args: Args) -> dict[str, Any]:
    """conversations.members, cursor-paginated."""
    channel = visible_channel(ws, args)
    page, cursor = paginate(channel.members, args)
    return {"members": page, "response_metadata": {"next_cursor": cursor}}


def history(ws: Workspace, args: Args) -> dict[str, Any]:
    """conversations.history: top-level messages, newest first, within oldest/latest."""
    channel = visible_channel(ws, args)
    if ws.bot_user_id not in channel.members:
        raise SlackApiFailure("not_in_channel")
    oldest, latest = float(args.text("oldest") or 0), float(args.text("latest") or "inf")
    inclusive = args.flag("inclusive")
    selected = [
        m
        for m in reversed(channel.messages)
        if not m.deleted
        and m.thread_ts in (None, m.ts)
        and (oldest < float(m.ts) < latest or (inclusive and float(m.ts) in (oldest, latest)))
    ]
    page, cursor = paginate(selected, args)
    return {
        "messages": [m.to_api() for m in page],
        "has_more": bool(cursor),
        "response_metadata": {"next_cursor": cursor},
    }


def replies(ws: Workspace, args: Args) -> dict[str, Any]:
    """conversations.replies: the parent and its thread, oldest first."""
    channel = visible_channel(ws, args)
    ts = args.required("ts", "thread_not_found")
    if channel.find_message(ts) is None:
        raise SlackApiFailure("thread_not_found")
    thread = [m for m in channel.messages if not m.deleted and (m.ts == ts or m.thread_ts == ts)]
    page, cursor = paginate(thread, args, default_limit=1000)
    return {"messages": [m.to_api() for m in page], "has_more": bool(cursor)}


def open_dm(ws: Workspace, args: Args) -> dict[str, Any]:
    """conversations.open: the bot's DM with a user, or a group DM."""
    user_ids = args.id_list("users")
    if not user_ids:
        channel_id = args.text("channel")
        if channel_id:
            return {"channel": {"id": ws.api_channel(channel_id).id}}
        raise SlackApiFailure("users_list_not_supplied")
    for user_id in user_ids:
        if user_id not in ws.users:
            raise SlackApiFailure("user_not_found")
    channel = ws.open_dm(user_ids)
    if args.flag("return_im"):
        return {"channel": channel.to_api(ws.bot_user_id)}
    return {"channel": {"id": channel.id}}


HANDLERS: dict[str, Handler] = {
    "conversations.create": create,
    "conversations.invite": invite,
    "conversations.info": info,
    "conversations.setTopic": set_topic,
    "conversations.setPurpose": set_purpose,
    "conversations.archive": archive,
    "conversations.rename": rename,
    "conversations.join": join,
    "conversations.members": members,
    "conversations.history": history,
    "conversations.replies": replies,
    "conversations.open": open_dm,
}
