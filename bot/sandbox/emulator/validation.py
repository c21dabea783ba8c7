"""Slack's input rules: channel names, message text and Block Kit, checked with slack-sdk's own models."""

from __future__ import annotations

import json
import logging
import re
import secrets
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

from bot.sandbox.emulator.errors import SlackApiFailure

CHANNEL_NAME_MAX = 80
MESSAGE_TEXT_MAX = 40_000
MESSAGE_BLOCKS_MAX = 50
VIEW_BLOCKS_MAX = 100
TOPIC_MAX = 250
_NAME_CHARS = re.compile(r"^[a-z0-9_-]+$")

# slack-sdk logs a warning for each unknown block type it cannot parse; we report those as errors instead.
logging.getLogger("slack_sdk.models.blocks.blocks").setLevel(logging.ERROR)


def check_channel_name(name: str | None) -> str:
    """Return the name if Slack would accept it for a new channel, else raise the error Slack gives."""
    if not name:
        raise SlackApiFailure("invalid_name_required")
    if len(name) > CHANNEL_NAME_MAX:
        raise SlackApiFailure("invalid_name_maxlength")
    if not _NAME_CHARS.match(name):
        raise SlackApiFailure("invalid_name_specials")
    if not name.strip("-_"):
        raise SlackApiFailure("invalid_name_punctuation")
    return name


def parse_blocks(raw: Any, *, limit: int = MESSAGE_BLOCKS_MAX) -> list[dict[str, Any]] | None:
    """Decode `blocks` (a list, or a JSON string from a form field) and validate it; None when absent."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raise SlackApiFailure("invalid_blocks_format") from None
    if not isinstance(raw, list):
        raise SlackApiFailure("invalid_blocks_format")
    problem = blocks_problem(raw, limit=limit)
    if problem is not None:
        raise SlackApiFailure("invalid_blocks", errors=[problem])
    return [dict(block) for block in raw]


def blocks_problem(blocks: list[Any], *, limit: int = MESSAGE_BLOCKS_MAX) -> str | None:
    """Describe the first reason Slack would reject these blocks, or None when they are valid."""
    if len(blocks) > limit:
        return f"no more than {limit} items allowed [json-pointer:/blocks]"
    seen_block_ids: set[str] = set()
    for index, raw in enumerate(blocks):
        pointer = f"[json-pointer:/blocks/{index}]"
        if not isinstance(raw, dict):
            return f"expected an object {pointer}"
        block = Block.parse(raw)
        if block is None:
            return f"unsupported block type {raw.get('type')!r} {pointer}"
        try:
            block.validate_json()
            block.to_dict()  # validates nested elements (buttons, texts) too
        except SlackObjectFormationError as exc:
            return f"{exc} {pointer}"
        block_id = raw.get("block_id")
        if block_id is not None:
            if block_id in seen_block_ids:
                return f"duplicate block_id {block_id!r} {pointer}"
            seen_block_ids.add(block_id)
        duplicate = _duplicate_action_id(raw)
        if duplicate is not None:
            return f"duplicate action_id {duplicate!r} {pointer}"
    return None


def _duplicate_action_id(block: dict[str, Any]) -> str | None:
    seen: set[str] = set()
    for element in block.get("elements") or []:
        action_id = element.get("action_id") if isinstance(element, dict) else None
        if action_id is None:
            continue
        if action_id in seen:
            return str(action_id)
        seen.add(action_id)
    return None


def check_message_text(text: str | None, blocks: list[dict[str, Any]] | None) -> None:
    """Raise no_text or msg_too_long as chat.postMessage does."""
    if not text and not blocks:
        raise SlackApiFailure("no_text")
    if text and len(text) > MESSAGE_TEXT_MAX:
        raise SlackApiFailure("msg_too_long")


def with_block_ids(blocks: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """Give every block without a block_id a random one, as Slack does when it stores blocks."""
    if blocks is None:
        return None
    return [block if "block_id" in block else {**block, "block_id": secrets.token_urlsafe(4)[:5]} for block in blocks]
