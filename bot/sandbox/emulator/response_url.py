"""response_url: where an app answers an interaction; Slack allows 5 uses within 30 minutes."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.emulator.errors import SlackApiFailure
from bot.sandbox.emulator.records import Edit, Ephemeral
from bot.sandbox.emulator.state import Workspace
from bot.sandbox.emulator.validation import check_message_text, parse_blocks, with_block_ids

MAX_USES = 5
TTL_S = 30 * 60.0


@dataclass
class ResponseTarget:
    """What a response_url points back to: a channel, the acting user and perhaps the clicked message."""

    token: str
    url: str
    channel_id: str
    user_id: str
    message_ts: str | None
    is_ephemeral: bool
    issued_at: float
    uses: int = 0
    posts: list[dict[str, Any]] = field(default_factory=list)


def apply_response(ws: Workspace, target: ResponseTarget, body: dict[str, Any], source: str) -> None:
    """Do what a response body asks: delete or replace the original, or post in channel or ephemerally."""
    channel = ws.api_channel(target.channel_id)
    if body.get("delete_original"):
        _delete_original(ws, target)
        return
    blocks = with_block_ids(parse_blocks(body.get("blocks")))
    text = body.get("text")
    check_message_text(text, blocks)
    if body.get("replace_original") and target.message_ts and _replace_original(ws, target, text, blocks):
        return
    if body.get("response_type") == "in_channel":
        ws.post_as_bot(channel, text=text, blocks=blocks, thread_ts=body.get("thread_ts"))
        return
    ephemeral = Ephemeral(ws.next_ts(), channel.id, target.user_id, text, blocks, source)
    ws.ephemerals.append(ephemeral)


def _ephemeral_original(ws: Workspace, target: ResponseTarget) -> Ephemeral | None:
    return next(
        (e for e in ws.ephemerals if e.ts == target.message_ts and e.user == target.user_id and not e.deleted), None
    )


def _delete_original(ws: Workspace, target: ResponseTarget) -> None:
    if target.is_ephemeral:
        ephemeral = _ephemeral_original(ws, target)
        if ephemeral is not None:
            ephemeral.deleted = True
        return
    message = ws.api_channel(target.channel_id).find_message(target.message_ts)
    if message is None:
        raise SlackApiFailure("message_not_found")
    message.deleted = True


def _replace_original(ws: Workspace, target: ResponseTarget, text: str | None, blocks: list[Any] | None) -> bool:
    original: Any = (
        _ephemeral_original(ws, target)
        if target.is_ephemeral
        else ws.api_channel(target.channel_id).find_message(target.message_ts)
    )
    if original is None:
        return False
    original.edits.append(Edit(edited_at=ws.next_ts(), text=original.text, blocks=original.blocks))
    original.text, original.blocks = text, blocks
    return True


class ResponseUrls:
    """Issues response_urls and serves POSTs to them with Slack's use limits."""

    def __init__(self, ws: Workspace, base_url: Callable[[], str], clock: Callable[[], float] = time.monotonic) -> None:
        self.ws = ws
        self.base_url = base_url
        self.clock = clock
        self.targets: dict[str, ResponseTarget] = {}
        self.max_uses = MAX_USES
        self.ttl = TTL_S

    def issue(
        self, channel_id: str, user_id: str, message_ts: str | None = None, *, is_ephemeral: bool = False
    ) -> ResponseTarget:
        """A new response_url (its `.url`) for an interaction in this channel by this user."""
        token = secrets.token_urlsafe(18)
        url = f"{self.base_url()}/response/{token}"
        target = ResponseTarget(token, url, channel_id, user_id, message_ts, is_ephemeral, self.clock())
        self.targets[token] = target
        return target

    def post(self, token: str, body: Any) -> tuple[int, dict[str, Any]]:
        """Handle one POST to a response_url; return the HTTP status and JSON body."""
        target = self.targets.get(token)
        if target is None:
            return 404, {"ok": False, "error": "invalid_url"}
        if self.clock() - target.issued_at > self.ttl:
            return 404, {"ok": False, "error": "expired_url"}
        if target.uses >= self.max_uses:
            return 404, {"ok": False, "error": "used_url"}
        if not isinstance(body, dict):
            return 400, {"ok": False, "error": "invalid_payload"}
        target.uses += 1
        target.posts.append(body)
        try:
            apply_response(self.ws, target, body, source="response_url")
        except SlackApiFailure as failure:
            return 400, failure.body()
        return 200, {"ok": True}
