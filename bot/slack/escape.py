"""Slack text at the edges: unescape once on the way in, escape once on the way out.

Slack sends `&`, `<` and `>` in text it delivers (slash commands, messages) as `&amp;`, `&lt;` and `&gt;`.
`from_slack` undoes that where text enters (the listeners), so the core stores and compares what the person
typed. `escape_text` is applied once where text leaves as mrkdwn (the renderers), so nothing a person or an
alert wrote can ping `@channel`, make a link or mention anyone. Mentions the bot composes itself
(`<@U…>`, `<!subteam^S…>`, `<#C…>`) are added around escaped text, never escaped.
"""

from __future__ import annotations

import re

# Slack's own control sequences: escape &, < and > and nothing reaches the parser as a command.
_CONTROL = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
# Bare words Slack would still turn into mass mentions in some clients.
_MASS = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)


_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))
# The mention forms the bot itself writes into text it composes (titles, approvers): kept, all else escaped.
_OWN_MENTION = re.compile(r"<(?:@[UW][A-Z0-9]+|!subteam\^S[A-Z0-9]+|#C[A-Z0-9]+)(?:\|[^<>&|]*)?>")


def from_slack(text: str) -> str:
    """Text as the person typed it: undo Slack's `&amp;`, `&lt;`, `&gt;` (the edge in, applied once)."""
    for entity, char in _ENTITIES:  # `&amp;` last, so `&amp;lt;` becomes `&lt;` and not `<`
        text = text.replace(entity, char)
    return text


def escape_keeping_mentions(text: str) -> str:
    """Escape bot-composed text that may hold the bot's own user, group or channel mentions, keeping those."""
    out, last = [], 0
    for match in _OWN_MENTION.finditer(text):
        out += [escape_text(text[last : match.start()]), match.group(0)]
        last = match.end()
    return "".join(out) + escape_text(text[last:])


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
