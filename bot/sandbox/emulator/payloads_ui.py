"""Builders for the payloads of shortcuts, Home tab events and clicks inside views or on select menus."""

from __future__ import annotations

import time
from typing import Any

from bot.sandbox.emulator.records import Channel, Message, User, View
from bot.sandbox.emulator.state import Workspace


def _user(ws: Workspace, user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.name, "name": user.name, "team_id": ws.team_id}


def _team(ws: Workspace) -> dict[str, Any]:
    return {"id": ws.team_id, "domain": ws.team_domain}


def _stamp() -> str:
    return f"{time.time():.6f}"


def global_shortcut(ws: Workspace, token: str, user: User, callback_id: str, trigger_id: str) -> dict[str, Any]:
    """A `shortcut` payload: a global shortcut chosen from the shortcuts menu."""
    return {
        "type": "shortcut",
        "token": token,
        "action_ts": _stamp(),
        "team": _team(ws),
        "user": _user(ws, user),
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": trigger_id,
    }


def message_shortcut(
    ws: Workspace,
    token: str,
    user: User,
    channel: Channel,
    message: Message,
    callback_id: str,
    trigger_id: str,
    response_url: str,
) -> dict[str, Any]:
    """A `message_action` payload: a message shortcut chosen from a message's menu."""
    return {
        "type": "message_action",
        "token": token,
        "action_ts": _stamp(),
        "team": _team(ws),
        "user": _user(ws, user),
        "channel": {"id": channel.id, "name": "directmessage" if channel.is_im else channel.name},
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": trigger_id,
        "response_url": response_url,
        "message_ts": message.ts,
        "message": message.to_api(),
    }


def app_home_opened_event(ws: Workspace, user: User, dm: Channel, home: View | None) -> dict[str, Any]:
    """An `app_home_opened` event; `view` is present once the app has published a Home tab for the user."""
    event: dict[str, Any] = {
        "type": "app_home_opened",
        "user": user.id,
        "channel": dm.id,
        "tab": "home",
        "event_ts": _stamp(),
    }
    if home is not None:
        event["view"] = home.to_api(ws.app_id, ws.bot_id)
    return event


def view_block_actions(
    ws: Workspace, token: str, user: User, view: View, action: dict[str, Any], trigger_id: str
) -> dict[str, Any]:
    """A block_actions payload for a click inside a modal or the Home tab (no channel, no response_url)."""
    return {
        "type": "block_actions",
        "user": _user(ws, user),
        "api_app_id": ws.app_id,
        "token": token,
        "container": {"type": "view", "view_id": view.id},
        "trigger_id": trigger_id,
        "team": _team(ws),
        "enterprise": None,
        "is_enterprise_install": False,
        "view": view.to_api(ws.app_id, ws.bot_id),
        "actions": [action],
    }


def select_action(block_id: str, element: dict[str, Any], value: str) -> dict[str, Any]:
    """The actions[0] entry for an option chosen in a static_select or overflow menu; unknown values raise."""
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options += list(group.get("options") or [])
    chosen = next((o for o in options if o.get("value") == value), None)
    if chosen is None:
        raise ValueError(f"{element.get('action_id')} has no option {value!r}: {[o.get('value') for o in options]}")
    return {
        "action_id": element["action_id"],
        "block_id": block_id,
        "type": element["type"],
        "selected_option": chosen,
        "action_ts": _stamp(),
    }
