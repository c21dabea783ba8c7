"""Builders for the payloads Slack sends when people act: slash commands, block actions, view submissions, events."""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

from bot.sandbox.emulator.records import Channel, Message, User, View
from bot.sandbox.emulator.state import Workspace

# A mention picked from Slack's autocomplete arrives as a token; every other `&`, `<`, `>` is escaped.
_MENTION_TOKEN = re.compile(r"<(?:@[UW][A-Z0-9]+|#C[A-Z0-9]+|!subteam\^S[A-Z0-9]+)(?:\|[^<>]*)?>")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def slack_escaped(text: str) -> str:
    """Text as Slack delivers what a person typed: `&`, `<`, `>` as entities, user/channel/group mentions kept."""
    out, last = [], 0
    for match in _MENTION_TOKEN.finditer(text):
        out += [text[last : match.start()].translate(_ESCAPES), match.group(0)]
        last = match.end()
    return "".join(out) + text[last:].translate(_ESCAPES)


def _channel_type(channel: Channel) -> str:
    if channel.is_im:
        return "im"
    if channel.is_mpim:
        return "mpim"
    return "group" if channel.is_private else "channel"


def _user_slice(ws: Workspace, user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.name, "name": user.name, "team_id": ws.team_id}


def _team(ws: Workspace) -> dict[str, Any]:
    return {"id": ws.team_id, "domain": ws.team_domain}


def slash_command(
    ws: Workspace, token: str, user: User, channel: Channel, command: str, text: str, response_url: str, trigger_id: str
) -> dict[str, Any]:
    """A slash_commands payload: string fields, as Slack posts them."""
    return {
        "token": token,
        "team_id": ws.team_id,
        "team_domain": ws.team_domain,
        "channel_id": channel.id,
        "channel_name": "directmessage" if channel.is_im else channel.name,
        "user_id": user.id,
        "user_name": user.name,
        "command": command,
        "text": slack_escaped(text),
        "api_app_id": ws.app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def block_actions(
    ws: Workspace,
    token: str,
    user: User,
    channel: Channel,
    message: Message,
    action: dict[str, Any],
    response_url: str,
    trigger_id: str,
    *,
    is_ephemeral: bool = False,
) -> dict[str, Any]:
    """A block_actions payload for a click on a button of a stored message."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user_slice(ws, user),
        "api_app_id": ws.app_id,
        "token": token,
        "container": {
            "type": "message",
            "message_ts": message.ts,
            "channel_id": channel.id,
            "is_ephemeral": is_ephemeral,
        },
        "trigger_id": trigger_id,
        "team": _team(ws),
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel.id, "name": "directmessage" if channel.is_im else channel.name},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [action],
    }
    if not is_ephemeral:
        payload["message"] = message.to_api()
    return payload


def button_action(block_id: str, button: dict[str, Any]) -> dict[str, Any]:
    """The actions[0] entry for a clicked button."""
    action = {
        "action_id": button["action_id"],
        "block_id": block_id,
        "text": button.get("text"),
        "value": button.get("value"),
        "type": "button",
        "action_ts": f"{time.time():.6f}",
    }
    if button.get("style"):
        action["style"] = button["style"]
    return {key: value for key, value in action.items() if value is not None}


def view_submission(
    ws: Workspace, token: str, user: User, view: View, values: dict[str, Any], trigger_id: str
) -> dict[str, Any]:
    """A view_submission payload with the state values the person entered."""
    return {
        "type": "view_submission",
        "team": _team(ws),
        "user": _user_slice(ws, user),
        "api_app_id": ws.app_id,
        "token": token,
        "trigger_id": trigger_id,
        "view": view.to_api(ws.app_id, ws.bot_id, values),
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def view_closed(ws: Workspace, token: str, user: User, view: View) -> dict[str, Any]:
    """A view_closed payload: the person dismissed a modal opened with `notify_on_close`."""
    return {
        "type": "view_closed",
        "team": _team(ws),
        "user": _user_slice(ws, user),
        "api_app_id": ws.app_id,
        "token": token,
        "view": view.to_api(ws.app_id, ws.bot_id),
        "is_cleared": False,
        "is_enterprise_install": False,
        "enterprise": None,
    }


def event_callback(ws: Workspace, token: str, event: dict[str, Any]) -> dict[str, Any]:
    """An Events API event_callback wrapping one event."""
    return {
        "token": token,
        "team_id": ws.team_id,
        "context_team_id": ws.team_id,
        "api_app_id": ws.app_id,
        "event": event,
        "type": "event_callback",
        "event_id": "Ev" + secrets.token_hex(5).upper(),
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": ws.team_id,
                "user_id": ws.bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }


def message_event(channel: Channel, message: Message) -> dict[str, Any]:
    """A `message` event for a person's message."""
    event = {
        "type": "message",
        "channel": channel.id,
        "user": message.user,
        "text": message.text or "",
        "ts": message.ts,
        "event_ts": message.ts,
        "channel_type": _channel_type(channel),
        "team": message.team,
        "client_msg_id": secrets.token_hex(16),
    }
    if message.thread_ts:
        event["thread_ts"] = message.thread_ts
    return event


def app_mention_event(channel: Channel, message: Message) -> dict[str, Any]:
    """An `app_mention` event for a message that mentions the bot."""
    event = message_event(channel, message)
    event["type"] = "app_mention"
    event.pop("channel_type")
    return event


def member_joined_event(ws: Workspace, channel: Channel, user_id: str, inviter: str | None) -> dict[str, Any]:
    """A `member_joined_channel` event."""
    event = {
        "type": "member_joined_channel",
        "user": user_id,
        "channel": channel.id,
        "channel_type": "G" if channel.is_private else "C",
        "team": ws.team_id,
        "event_ts": ws.next_ts(),
    }
    if inviter:
        event["inviter"] = inviter
    return event
