"""auth, users, usergroups, views, pins and bookmarks Web API methods (reactions: reactions.py)."""

from __future__ import annotations

import secrets
import time
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.views import View as SdkView

from bot.sandbox.emulator.args import Args, Handler, paginate
from bot.sandbox.emulator.errors import SlackApiFailure
from bot.sandbox.emulator.methods_conversations import visible_channel, writable_channel
from bot.sandbox.emulator.records import Bookmark, Message, View
from bot.sandbox.emulator.state import Workspace, random_id
from bot.sandbox.emulator.validation import VIEW_BLOCKS_MAX, blocks_problem, with_block_ids


def auth_test(ws: Workspace, args: Args) -> dict[str, Any]:
    """auth.test for the bot token."""
    bot = ws.users[ws.bot_user_id]
    return {
        "url": f"https://{ws.team_domain}.slack.com/",
        "team": ws.team_domain,
        "user": bot.name,
        "team_id": ws.team_id,
        "user_id": bot.id,
        "bot_id": ws.bot_id,
        "app_id": ws.app_id,
        "is_enterprise_install": False,
    }


def users_info(ws: Workspace, args: Args) -> dict[str, Any]:
    """users.info"""
    user = ws.users.get(args.text("user") or "")
    if user is None:
        raise SlackApiFailure("user_not_found")
    return {"user": user.to_api(ws.team_id)}


def users_list(ws: Workspace, args: Args) -> dict[str, Any]:
    """users.list, cursor-paginated (the bot user included, as on Slack)."""
    page, cursor = paginate([u.to_api(ws.team_id) for u in ws.users.values()], args)
    return {"members": page, "cache_ts": int(time.time()), "response_metadata": {"next_cursor": cursor}}


def users_lookup_by_email(ws: Workspace, args: Args) -> dict[str, Any]:
    """users.lookupByEmail"""
    email = (args.text("email") or "").lower()
    user = next((u for u in ws.users.values() if u.email and u.email.lower() == email), None)
    if user is None:
        raise SlackApiFailure("users_not_found")
    return {"user": user.to_api(ws.team_id)}


def usergroups_list(ws: Workspace, args: Args) -> dict[str, Any]:
    """usergroups.list: enabled groups (disabled too with include_disabled); users and counts on request."""
    include_disabled = args.flag("include_disabled")
    groups = [g for g in ws.groups.values() if include_disabled or not g.disabled]
    shape = {"include_users": args.flag("include_users"), "include_count": args.flag("include_count")}
    return {"usergroups": [g.to_api(ws.team_id, **shape) for g in groups]}


def usergroups_users_list(ws: Workspace, args: Args) -> dict[str, Any]:
    """usergroups.users.list; a disabled group answers only with include_disabled."""
    group = ws.groups.get(args.text("usergroup") or "")
    if group is None or (group.disabled and not args.flag("include_disabled")):
        raise SlackApiFailure("no_such_subteam")
    return {"users": list(group.users)}


def _checked_view(args: Args, expected_type: str | None = None) -> dict[str, Any]:
    definition = args.json("view")
    if not isinstance(definition, dict):
        raise SlackApiFailure(
            "invalid_arguments", response_metadata={"messages": ["[ERROR] missing required field: view"]}
        )
    problem = None
    if expected_type and definition.get("type") != expected_type:
        problem = f"view type must be {expected_type}"
    else:
        try:
            SdkView(**definition).validate_json()
        except (SlackObjectFormationError, TypeError) as exc:
            problem = str(exc)
        problem = problem or blocks_problem(list(definition.get("blocks") or []), limit=VIEW_BLOCKS_MAX)
    if problem:
        raise SlackApiFailure("invalid_arguments", response_metadata={"messages": [f"[ERROR] {problem}"]})
    return {**definition, "blocks": with_block_ids(list(definition.get("blocks") or []))}


def _new_hash() -> str:
    return f"{secrets.randbelow(10**10)}.{secrets.token_hex(4)}"


def _answer(ws: Workspace, view: View) -> dict[str, Any]:
    return {"view": view.to_api(ws.app_id, ws.bot_id)}


def views_open(ws: Workspace, args: Args) -> dict[str, Any]:
    """views.open: needs a fresh, unused trigger_id."""
    definition = _checked_view(args)
    trigger = ws.consume_trigger(args.text("trigger_id"))
    view_id = random_id("V")
    view = View(view_id, ws.team_id, trigger.user_id, definition, _new_hash(), root_view_id=view_id)
    ws.views[view_id] = view
    return _answer(ws, view)


def views_push(ws: Workspace, args: Args) -> dict[str, Any]:
    """views.push: a new modal on top of the user's open one."""
    definition = _checked_view(args)
    trigger = ws.consume_trigger(args.text("trigger_id"))
    below = [v for v in ws.views.values() if v.user_id == trigger.user_id and v.type == "modal" and not v.closed]
    if not below:
        raise SlackApiFailure("view_not_found")
    view_id = random_id("V")
    view = View(view_id, ws.team_id, trigger.user_id, definition, _new_hash(), below[-1].root_view_id, below[-1].id)
    ws.views[view_id] = view
    return _answer(ws, view)


def views_update(ws: Workspace, args: Args) -> dict[str, Any]:
    """views.update by view_id or external_id; a stale hash gives hash_conflict."""
    external_id = args.text("external_id")
    view = ws.views.get(args.text("view_id") or "") or next(
        (v for v in ws.views.values() if external_id and v.definition.get("external_id") == external_id), None
    )
    if view is None:
        raise SlackApiFailure("not_found")
    expected_hash = args.text("hash")
    if expected_hash and expected_hash != view.hash:
        raise SlackApiFailure("hash_conflict")
    definition = _checked_view(args)
    view.history.append(view.definition)
    view.definition, view.hash = definition, _new_hash()
    return _answer(ws, view)


def views_publish(ws: Workspace, args: Args) -> dict[str, Any]:
    """views.publish: the user's Home tab."""
    user_id = args.text("user_id") or ""
    if user_id not in ws.users:
        raise SlackApiFailure("user_not_found")
    definition = _checked_view(args, expected_type="home")
    view = next((v for v in ws.views.values() if v.user_id == user_id and v.type == "home"), None)
    if view is None:
        view_id = random_id("V")
        view = View(view_id, ws.team_id, user_id, definition, _new_hash(), root_view_id=view_id)
        ws.views[view_id] = view
    else:
        view.history.append(view.definition)
        view.definition, view.hash = definition, _new_hash()
    return _answer(ws, view)


def _message(ws: Workspace, args: Args) -> Message:
    channel = visible_channel(ws, args)
    message = channel.find_message(args.text("timestamp"))
    if message is None:
        raise SlackApiFailure("message_not_found")
    return message


def pins_add(ws: Workspace, args: Args) -> dict[str, Any]:
    """pins.add"""
    channel = writable_channel(ws, args)
    message = _message(ws, args)
    if message.ts in channel.pins:
        raise SlackApiFailure("already_pinned")
    channel.pins.append(message.ts)
    return {}


def bookmarks_add(ws: Workspace, args: Args) -> dict[str, Any]:
    """bookmarks.add (links only, as Slack allows)."""
    channel = visible_channel(ws, args, "channel_id")
    title = args.required("title", "invalid_title")
    if args.text("type") != "link":
        raise SlackApiFailure("invalid_bookmark_type")
    link = args.required("link", "invalid_link")
    bookmark = Bookmark(random_id("Bk"), channel.id, title, "link", link, args.text("emoji"), int(ws.clock()))
    channel.bookmarks.append(bookmark)
    return {"bookmark": bookmark.to_api()}


HANDLERS: dict[str, Handler] = {
    "auth.test": auth_test,
    "users.info": users_info,
    "users.lookupByEmail": users_lookup_by_email,
    "usergroups.list": usergroups_list,
    "users.list": users_list,
    "usergroups.users.list": usergroups_users_list,
    "views.open": views_open,
    "views.push": views_push,
    "views.update": views_update,
    "views.publish": views_publish,
    "pins.add": pins_add,
    "bookmarks.add": bookmarks_add,
}
