"""Render the emulated workspace as plain text for a terminal: a channel at once, or every message as it comes."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot.sandbox.emulator import Message
from bot.sandbox.emulator.records import Channel
from bot.sandbox.emulator.state import Workspace

_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_REF = re.compile(r"<([@#]|!subteam\^)([A-Z0-9]+)(?:\|([^>]*))?>")
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


class TranscriptStream:
    """Prints every message, edit and ephemeral of the emulated workspace once, as it happens."""

    def __init__(self, ws: Workspace, write: Callable[[str], None]) -> None:
        self.ws = ws
        self.write = write
        self._shown: dict[tuple[str, str], int] = {}
        self._channel = ""

    def named(self, line: str) -> str:
        """`<@U…>` as @name, `<#C…>` as #name and `<!subteam^S…>` as @handle, as Slack shows them."""

        def name(match: re.Match[str]) -> str:
            sigil, ref, label = match.groups()
            if sigil != "@" and sigil != "#":  # a user group
                group: Any = self.ws.groups.get(ref)
                return "@" + (group.handle if group is not None else (label or ref).lstrip("@"))
            found: Any = self.ws.users.get(ref) if sigil == "@" else self.ws.channels.get(ref)
            return sigil + (found.name if found is not None else label or ref)

        return _REF.sub(name, line)

    def _lines_for(self, channel: Channel) -> list[str]:
        lines = []
        fresh = [m for m in channel.messages if not m.subtype and not m.deleted]
        fresh = [m for m in fresh if self._shown.get((channel.id, m.ts)) != len(m.edits)]
        for message in fresh:
            self._shown[(channel.id, message.ts)] = len(message.edits)
            lines.append(render_message(message))
        for eph in self.ws.ephemerals:
            if eph.channel_id == channel.id and not eph.deleted and (channel.id, eph.ts) not in self._shown:
                self._shown[(channel.id, eph.ts)] = 0
                who = self.ws.users[eph.user].name if eph.user in self.ws.users else eph.user
                lines.append(
                    f"(only {who} sees) " + render_message(Message(eph.ts, channel.id, eph.user, eph.text, eph.blocks))
                )
        return lines

    def flush(self) -> None:
        """Write whatever is new since the last flush, under a `#channel` heading when the channel changes."""
        for channel in list(self.ws.channels.values()):
            lines = self._lines_for(channel)
            if not lines:
                continue
            if channel.id != self._channel:
                self._channel = channel.id
                head = f"#{channel.name}" + (f" — {plain(channel.topic)}" if channel.topic else "")
                if channel.is_im and channel.im_user in self.ws.users:
                    head = f"DM with {self.ws.users[channel.im_user].name}"
                self.write("\n" + head)
            for line in lines:
                self.write(self.named(line))

    async def run(self, stop: asyncio.Event) -> None:
        """Flush on every change until `stop` is set."""
        while not stop.is_set():
            self.flush()
            await self.ws.wait_changed(1.0)
        self.flush()
