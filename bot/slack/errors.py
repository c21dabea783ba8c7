"""Slack error codes turned into messages a human can act on."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from bot.errors import BotError

log = logging.getLogger(__name__)

_HINTS = {
    "not_in_channel": "the bot is not a member of that channel: invite it with `/invite @runbook-bot`",
    "channel_not_found": "that channel does not exist or the bot cannot see it",
    "is_archived": "that channel is archived: unarchive it or open a new incident",
    "invalid_auth": "Slack refused the bot token: check SLACK_BOT_TOKEN (revoked or from another workspace?)",
    "not_authed": "no bot token was sent: set SLACK_BOT_TOKEN",
    "account_inactive": "the bot's token belongs to a deactivated app or user: reinstall the app",
    "token_revoked": "the bot token was revoked: reinstall the app and update SLACK_BOT_TOKEN",
    "name_taken": "a channel with that name already exists (archived channels count too)",
    "invalid_name_specials": "channel names may hold only lowercase letters, digits, '-' and '_'",
    "invalid_blocks": "Slack rejected the message layout (a bug in runbook-bot: please report it with the log line)",
    "msg_too_long": "the message is longer than Slack allows",
    "restricted_action": "a workspace admin setting forbids this action for the bot",
    "user_is_restricted": "guests cannot be invited to this channel",
    "cant_invite_self": "the bot tried to invite itself",
    "expired_trigger_id": "the dialog took too long to open: click again",
    "ratelimited": "Slack is rate limiting the bot: it will retry on its own",
}


def describe_slack_error(method: str, error: str, data: Any = None) -> str:
    """One sentence saying what failed, why and what to do."""
    if error == "missing_scope" and isinstance(data, dict):
        needed = data.get("needed", "?")
        return f"Slack {method} failed: the app lacks the scope `{needed}`; add it in the app manifest and reinstall"
    hint = _HINTS.get(error, "see https://api.slack.com/methods/" + method)
    return f"Slack {method} failed ({error}): {hint}"


def reply_for_error(exc: Exception) -> str:
    """A message a human can act on; unknown errors get a correlation id that is in the log."""
    if isinstance(exc, BotError):
        return f":warning: {exc}"
    ref = uuid.uuid4().hex[:8]
    log.error("unhandled error in a Slack listener", exc_info=exc, extra={"ref": ref})
    return f":boom: Something went wrong on our side (ref `{ref}`); the details are in the bot's log."


_GATEWAY_HINTS = {
    "deadline_exceeded": "gave up at the call's deadline ({problem}); the caller may retry later",
    "ratelimited": "Slack kept rate limiting the bot ({problem}) after {attempts} attempt(s)",
    "unreachable": "Slack could not be reached after {attempts} attempt(s): {problem}",
    "timeout": "Slack did not answer ({problem}); the call may or may not have taken effect",
    "network_error": "the connection to Slack failed ({problem}); the call may or may not have taken effect",
}


def describe_gateway_failure(method: str, reason: str, problem: str, attempts: int) -> str:
    """One sentence for a call the gateway gave up on: which call, why, and whether it may have happened."""
    hint = _GATEWAY_HINTS.get(reason, "{problem}").format(problem=problem, attempts=attempts)
    return f"Slack {method} failed ({reason}): {hint}"
