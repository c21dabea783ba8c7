"""What one person sees of the emulated workspace, as JSON for the web page: channels, messages, threads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.sandbox.emulator.blocks_html import message_html
from bot.sandbox.emulator.modal_html import modal_entry, open_modal
from bot.sandbox.emulator.mrkdwn_html import Names, mrkdwn_html
from bot.sandbox.emulator.records import Channel, Ephemeral, Message, User
from bot.sandbox.emulator.state import Workspace


def workspace_names(ws: Workspace) -> Names:
    """Name lookups for mentions: users by id, channels by id, user groups by id."""

    def user(user_id: str) -> str | None:
        found = ws.users.get(user_id)
        return found.name if found else None

    def channel(channel_id: str) -> str | None:
        found = ws.channels.get(channel_id)
        return found.name if found else None

    def group(group_id: str) -> str | None:
        found = ws.groups.get(group_id)
        return found.handle if found else None

    return Names(user, channel, group)


def people(ws: Workspace) -> list[User]:
    """The people one may act as: every user who is not a bot, in seeding order."""
    return [u for u in ws.users.values() if not u.is_bot and not u.deleted]


def visible_channels(ws: Workspace, viewer: str) -> list[Channel]:
    """Public channels, private ones the viewer is in, and the viewer's DMs with the bot."""
    shown = []
    for channel in ws.channels.values():
        if channel.is_im or channel.is_mpim or channel.is_private:
            if viewer in channel.members:
                shown.append(channel)
        else:
            shown.append(channel)
    return shown


def _ephemerals(ws: Workspace, viewer: str, channel_id: str) -> list[Ephemeral]:
    return [e for e in ws.ephemerals if e.user == viewer and e.channel_id == channel_id and not e.deleted]


def activity(ws: Workspace, channel: Channel, viewer: str) -> int:
    """A number that grows with every post, edit or ephemeral the viewer can see: the page's unread mark."""
    posts = sum(1 + len(m.edits) for m in channel.messages if not m.subtype)
    return posts + sum(1 + len(e.edits) for e in _ephemerals(ws, viewer, channel.id))


def channel_entry(ws: Workspace, channel: Channel, viewer: str) -> dict[str, Any]:
    """One row of the channel list."""
    kind = "dm" if channel.is_im else "private" if channel.is_private else "public"
    label = channel.name
    if channel.is_im:
        other = next((m for m in channel.members if m != viewer), ws.bot_user_id)
        label = ws.users[other].name if other in ws.users else other
    return {
        "id": channel.id,
        "name": label,
        "kind": kind,
        "member": viewer in channel.members,
        "archived": channel.is_archived,
        "activity": activity(ws, channel, viewer),
    }


def _stamp(ts: str) -> str:
    return datetime.fromtimestamp(float(ts), UTC).strftime("%H:%M:%S")


def _author(ws: Workspace, user_id: str) -> str:
    user = ws.users.get(user_id)
    if user is None:
        return user_id
    return user.real_name or user.name


def message_entry(ws: Workspace, message: Message, names: Names) -> dict[str, Any]:
    """A stored message, rendered."""
    return {
        "ts": message.ts,
        "thread_ts": message.thread_ts,
        "author": _author(ws, message.user),
        "is_bot": message.user == ws.bot_user_id or bool(message.bot_id),
        "time": _stamp(message.ts),
        "html": message_html(message.text, message.blocks, names),
        "edited": bool(message.edits),
        "reply_count": message.reply_count,
        "reactions": {name: len(users) for name, users in message.reactions.items()},
        "ephemeral": False,
    }


def ephemeral_entry(ws: Workspace, ephemeral: Ephemeral, names: Names) -> dict[str, Any]:
    """An ephemeral message, rendered; only its recipient is ever sent one."""
    return {
        "ts": ephemeral.ts,
        "thread_ts": ephemeral.thread_ts,
        "author": _author(ws, ws.bot_user_id),
        "is_bot": True,
        "time": _stamp(ephemeral.ts),
        "html": message_html(ephemeral.text, ephemeral.blocks, names),
        "edited": bool(ephemeral.edits),
        "reply_count": 0,
        "reactions": {},
        "ephemeral": True,
    }


def timeline(ws: Workspace, channel: Channel, viewer: str) -> list[dict[str, Any]]:
    """Top-level messages in order, each followed by its `replies`; the viewer's ephemerals mixed in by ts."""
    names = workspace_names(ws)
    entries = [message_entry(ws, m, names) for m in channel.messages if not m.deleted and not m.subtype]
    entries += [ephemeral_entry(ws, e, names) for e in _ephemerals(ws, viewer, channel.id)]
    entries.sort(key=lambda e: e["ts"])
    tops: dict[str, dict[str, Any]] = {}
    ordered: list[dict[str, Any]] = []
    for entry in entries:
        parent = tops.get(entry["thread_ts"] or "")
        if parent is not None and entry["thread_ts"] != entry["ts"]:
            parent["replies"].append(entry)
            continue
        entry["replies"] = []
        tops[entry["ts"]] = entry
        ordered.append(entry)
    return ordered


# The page's name for the app's Home tab in place of a channel (no channel name can hold `@`).
HOME = "@home"


def home_entry(ws: Workspace, viewer: str) -> dict[str, Any]:
    """The Home tab as the page shows it: the view the app published for this person, rendered, or none yet."""
    home = next((v for v in ws.views.values() if v.user_id == viewer and v.type == "home"), None)
    names = workspace_names(ws)
    blocks = list(home.definition.get("blocks") or []) if home is not None else []
    return {
        "id": HOME,
        "name": "Home",
        "kind": "home",
        "member": True,
        "archived": False,
        "activity": 0,
        "topic_html": "the app's Home tab",
        "messages": [],
        "home": None if home is None else {"view_id": home.id, "html": message_html(None, blocks, names)},
    }


def _channel_view(
    ws: Workspace, channels: list[Channel], viewer_id: str, channel_ref: str | None
) -> dict[str, Any] | None:
    """The open channel (or the Home tab) with what the viewer sees of it; #incidents when the ref finds nothing."""
    if channel_ref == HOME and viewer_id:
        return home_entry(ws, viewer_id)
    current = ws.find_channel(channel_ref) if channel_ref else None
    if current is None or current.id not in {c.id for c in channels}:
        current = next((c for c in channels if c.name == "incidents"), channels[0] if channels else None)
    if current is None:
        return None
    return {
        **channel_entry(ws, current, viewer_id),
        "topic_html": mrkdwn_html(current.topic, workspace_names(ws)),
        "messages": timeline(ws, current, viewer_id),
    }


def view(ws: Workspace, viewer_ref: str | None, channel_ref: str | None) -> dict[str, Any]:
    """The whole page state for one viewer (the first person when none is named) and one open channel."""
    everyone = people(ws)
    viewer = ws.find_user(viewer_ref) if viewer_ref else None
    if viewer is None and everyone:
        viewer = everyone[0]
    viewer_id = viewer.id if viewer else ""
    channels = visible_channels(ws, viewer_id)
    modal = open_modal(ws, viewer_id) if viewer_id else None
    return {
        "team": ws.team_domain,
        "viewer": viewer_id,
        "modal": modal_entry(ws, modal, workspace_names(ws)) if modal is not None else None,
        "people": [{"id": u.id, "name": u.name, "real_name": u.real_name} for u in everyone],
        "channels": [channel_entry(ws, c, viewer_id) for c in channels],
        "channel": _channel_view(ws, channels, viewer_id, channel_ref),
    }
