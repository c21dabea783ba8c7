"""The Web API method table and one call path: authenticate, then run the method on the workspace."""

from __future__ import annotations

from typing import Any

from bot.sandbox.emulator import methods_chat, methods_conversations, methods_files, methods_other, reactions
from bot.sandbox.emulator.args import Args, Handler
from bot.sandbox.emulator.errors import SlackApiFailure
from bot.sandbox.emulator.state import Workspace

METHODS: dict[str, Handler] = {
    **methods_conversations.HANDLERS,
    **methods_chat.HANDLERS,
    **methods_other.HANDLERS,
    **reactions.HANDLERS,
    **methods_files.HANDLERS,
}

# Methods that take the app-level token (xapp-...) rather than the bot token.
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})


def token_kind(token: str | None, *, bot_token: str, app_token: str) -> str:
    """Classify a presented token as "bot" or "app"; raise not_authed or invalid_auth otherwise."""
    if not token:
        raise SlackApiFailure("not_authed")
    if token == bot_token:
        return "bot"
    if token == app_token:
        return "app"
    raise SlackApiFailure("invalid_auth")


def check_token_for(method: str, kind: str) -> None:
    """Raise not_allowed_token_type when the token type does not fit the method."""
    wants_app = method in APP_TOKEN_METHODS
    if wants_app != (kind == "app"):
        raise SlackApiFailure("not_allowed_token_type")


def run_method(ws: Workspace, method: str, raw_args: dict[str, Any]) -> dict[str, Any]:
    """Run one Web API method and return Slack's JSON body (ok=true), or raise SlackApiFailure."""
    handler = METHODS.get(method)
    if handler is None:
        raise SlackApiFailure("unknown_method")
    return {"ok": True, **handler(ws, Args(raw_args))}
