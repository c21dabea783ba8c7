"""Render an emulated channel as plain text for a terminal."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from bot.sandbox.emulator import Message

_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))


def plain(text: str) -> str:
    """mrkdwn to readable text: links as 'label (url)', entities decoded."""
    text = _LINK.sub(r"\2 (\1)", text)
    for entity, char in _ENTITIES:
        text = text.replace(entity, char)
    return text


def render_block(block: dict[str, Any]) -> list[str]:
    """Lines for one block."""
    kind = block.get("type")
    if kind == "header":
        return [f"== {block['text']['text']} =="]
    if kind == "section":
        lines = [plain(block["text"]["text"])] if block.get("text") else []
        for field in block.get("fields", []):
            lines.append("  " + plain(field["text"]).replace("\n", ": ", 1))
        return lines
    if kind == "context":
        return ["  " + " ".join(plain(e.get("text", "")) for e in block.get("elements", []))]
    if kind == "actions":
        return ["  " + "  ".join(f"[{e['text']['text']}]" for e in block.get("elements", []) if "text" in e)]
    if kind == "divider":
        return ["  ----"]
    return []


def render_message(message: Message) -> str:
    """One message with its timestamp, text or blocks."""
    stamp = datetime.fromtimestamp(float(message.ts), UTC).strftime("%H:%M:%S")
    indent = "    ↳ " if message.thread_ts and message.thread_ts != message.ts else ""
    lines = [line for block in message.blocks or [] for line in render_block(block)]
    body = "\n".join(lines) if lines else plain(message.text or "")
    body = body.replace("\n", "\n" + " " * (11 + len(indent)))
    edited = " (edited)" if message.edits else ""
    return f"[{stamp}] {indent}{body}{edited}"


def render_channel(name: str, topic: str, messages: list[Message]) -> str:
    """The channel as a terminal transcript."""
    head = f"#{name}" + (f" — {plain(topic)}" if topic else "")
    return "\n".join([head, "=" * min(len(head), 100), *(render_message(m) for m in messages)])
