"""Matching messages by text for the wait_* helpers: a substring, a compiled regex or a predicate."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from bot.sandbox.emulator.records import Ephemeral, Message

Match = str | re.Pattern[str] | Callable[[Any], bool] | None


def _texts(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                yield value
            else:
                yield from _texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _texts(item)


def visible_text(message: Message | Ephemeral) -> str:
    """The message text and every text inside its blocks, one per line."""
    return "\n".join([message.text or "", *_texts(message.blocks or [])])


def matches(message: Message | Ephemeral, match: Match) -> bool:
    """True if the message fits: None matches all, str is a substring, a regex searches, a callable decides."""
    if match is None:
        return True
    if isinstance(match, str):
        return match in visible_text(message)
    if isinstance(match, re.Pattern):
        return match.search(visible_text(message)) is not None
    return bool(match(message))
