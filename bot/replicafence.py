"""Acknowledge a sender only once its writes reached a replica: a tiny write, then WAIT, on one connection."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.connections import Redis, is_cluster, redis_call
from bot.incidents.store import AlertOutcome
from bot.intake.batch import IntakeBatch
from bot.intake.sink import AlertSink
from bot.keys import Keys

log = logging.getLogger(__name__)

# The fence key's own expiry; it only ever holds the last fence.
FENCE_TTL_MS = 60_000


class ReplicaFence:
    """Waits until `replicas` replicas hold every write this process finished before the call.

    WAIT counts the replication offset of the calling connection's own last write. The writes of a
    webhook went over other pooled connections, but the replication stream is ordered: a write on
    this connection after them, then WAIT here, covers them all.
    """

    def __init__(self, redis: Redis, keys: Keys, replicas: int, timeout_ms: int) -> None:
        self.redis = redis
        self.keys = keys
        self.replicas = replicas
        self.timeout_ms = timeout_ms
        self.timeouts = 0

    @property
    def active(self) -> bool:
        """Whether fencing does anything (replicas asked for, and one primary to ask)."""
        return self.replicas > 0 and not is_cluster(self.redis)

    async def wait(self) -> int:
        """How many replicas acknowledged; fewer than asked is logged, never an error (the write is on the primary)."""
        if not self.active:
            return 0
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(self.keys.replica_fence(), "1", px=FENCE_TTL_MS)
            pipe.execute_command("WAIT", self.replicas, self.timeout_ms)
            replies: Sequence[object] = await redis_call(pipe.execute())
        acked = int(str(replies[1]))
        if acked < self.replicas:
            self.timeouts += 1
            log.warning(
                "replica wait timed out; answering anyway",
                extra={"asked": self.replicas, "acked": acked, "timeout_ms": self.timeout_ms},
            )
        return acked


class FencedSink:
    """An AlertSink that answers only after the inner sink's writes reached the replicas (or the wait timed out)."""

    def __init__(self, inner: AlertSink, fence: ReplicaFence) -> None:
        self.inner = inner
        self.fence = fence

    async def accept(self, batch: IntakeBatch) -> list[AlertOutcome]:
        """Record the batch through the inner sink, then wait for the replicas."""
        outcomes = await self.inner.accept(batch)
        await self.fence.wait()
        return outcomes


def fenced(sink: AlertSink, fence: ReplicaFence) -> AlertSink:
    """`sink` behind the fence when fencing is active, else `sink` itself."""
    return FencedSink(sink, fence) if fence.active else sink
