"""What every Slack listener does first: acknowledge at once (timed), and read where a click came from."""

from __future__ import annotations

import time
from typing import Any

from slack_bolt.async_app import AsyncAck

from bot import metrics


async def ack_timed(ack: AsyncAck, kind: str = "block_actions") -> None:
    """Acknowledge before any work (Slack gives 3 s) and record how long it took under `kind`."""
    started = time.monotonic()
    await ack()
    metrics.ACK_SECONDS.labels(kind).observe(time.monotonic() - started)


def click_channel(body: dict[str, Any]) -> str:
    """The channel a block action came from: the payload's channel, else its container's ("" if neither)."""
    return str((body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", ""))
