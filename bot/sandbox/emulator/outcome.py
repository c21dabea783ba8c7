"""What a slash command or a click led to: the ack, then the ephemerals, posts and edits that followed it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.emulator.delivery import Delivery
from bot.sandbox.emulator.records import Channel
from bot.sandbox.emulator.state import Workspace

ACK_WAIT_S = 3.0
QUIET_S = 0.3


@dataclass
class Snapshot:
    """The channel and the person's ephemerals before the action, to tell what is new after it."""

    user_id: str
    channel_id: str
    ephemerals: int
    messages: set[str]
    edits: dict[str, int] = field(default_factory=dict)

    @classmethod
    def take(cls, ws: Workspace, user_id: str, channel: Channel) -> Snapshot:
        """Remember what exists now."""
        return cls(
            user_id,
            channel.id,
            len(ws.ephemerals),
            {m.ts for m in channel.messages},
            {m.ts: len(m.edits) for m in channel.messages},
        )

    def changes(self, ws: Workspace) -> dict[str, list[dict[str, Any]]]:
        """Ephemerals for this person, new channel messages and edited ones since the snapshot."""
        channel = ws.channels[self.channel_id]
        ephemerals = [e for e in ws.ephemerals[self.ephemerals :] if e.user == self.user_id]
        return {
            "ephemerals": [
                {"ts": e.ts, "channel": e.channel_id, "text": e.text, "blocks": e.blocks, "source": e.source}
                for e in ephemerals
            ],
            "messages": [_message(m) for m in channel.messages if m.ts not in self.messages and not m.subtype],
            "edited": [_message(m) for m in channel.messages if m.ts in self.edits and len(m.edits) > self.edits[m.ts]],
        }


def _message(message: Any) -> dict[str, Any]:
    return {"ts": message.ts, "text": message.text, "blocks": message.blocks, "thread_ts": message.thread_ts}


async def collect(ws: Workspace, delivery: Delivery, before: Snapshot, wait_s: float) -> dict[str, Any]:
    """Wait for the ack, then up to `wait_s` for the first answer and a short quiet spell after it."""
    acked = await delivery.wait(min(ACK_WAIT_S, wait_s) if wait_s > 0 else 0.0)
    ack = delivery.ack
    deadline = time.monotonic() + max(wait_s, 0.0)
    changes = before.changes(ws)
    last_count = -1
    while time.monotonic() < deadline:
        count = sum(len(v) for v in changes.values())
        if count and count == last_count:
            break  # something came back and nothing more arrived in the last QUIET_S
        last_count = count
        await ws.wait_changed(QUIET_S if count else min(QUIET_S, deadline - time.monotonic()))
        changes = before.changes(ws)
    return {
        "acked": acked,
        "ack": None if ack is None else {"latency": ack.latency, "payload": ack.payload, "attempt": ack.attempt},
        **changes,
    }
