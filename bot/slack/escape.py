"""Escape outside text so it shows as written: no pings, no links, no formatting tricks."""

from __future__ import annotations

import re

# Slack's own control sequences: escape &, < and > and nothing reaches the parser as a command.
_CONTROL = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
# Bare words Slack would still turn into mass mentions in some clients.
_MASS = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)


def escape_text(text: str) -> str:
    """Escape alert or user text for mrkdwn so it can neither mention @channel nor make links."""
    escaped = text.translate(_CONTROL)
    return _MASS.sub(lambda m: "@\u200b" + m.group(1), escaped)


def truncate(text: str, limit: int, marker: str = "…") -> str:
    """Cut text to `limit` characters, marking the cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(marker))] + marker


def code_block(text: str, limit: int) -> str:
    """Text inside a ``` block, escaped, with the whole thing within `limit` characters."""
    fence = "```"
    # A fence inside the text would end the block early; a zero-width space breaks it up.
    body = escape_text(text).replace(fence, "`\u200b`\u200b`")
    return fence + truncate(body, limit - 2 * len(fence)) + fence


def split_text(text: str, size: int) -> list[str]:
    """Cut text into pieces of at most `size` characters, at line ends where possible."""
    parts: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line) > size:
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:size])
            line = line[size:]
        if len(current) + len(line) > size:
            parts.append(current)
            current = ""
        current += line
    if current or not parts:
        parts.append(current)
    return parts
