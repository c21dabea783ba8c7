"""Timer wake-ups over Redis pub/sub: every scheduler hears when a timer sooner than its plan is armed.

The timer scripts publish a due time on `Keys.timers_wake` when an arming becomes its shard's soonest
timer. Each replica keeps one subscription and hands every due time to its scheduler, which wakes if it
was sleeping past it. Pub/sub is fire-and-forget: a message lost while the subscription is down only
delays a timer until the scheduler's fallback tick, and a fresh subscription asks the scheduler to look
again at once. On a Redis Cluster redis-py subscribes on one node, and Cluster forwards every PUBLISH to
all nodes, so one subscription hears all shards (docs/redis.md, "Timer wake-ups").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import RedisClusterException, RedisError

from bot.connections import Redis

log = logging.getLogger(__name__)

# Called with the due time (epoch seconds) of a timer armed in front of its shard; None: look again now.
OnDue = Callable[[float | None], None]
Sleep = Callable[[float], Awaitable[None]]


class TimerWakeups:
    """Keeps one subscription to the wake channel alive and reports what it hears to `on_due`."""

    def __init__(
        self,
        redis: Redis,
        channel: str,
        on_due: OnDue,
        *,
        poll_s: float = 1.0,
        retry_s: float = 0.5,
        max_retry_s: float = 10.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.redis, self.channel, self.on_due = redis, channel, on_due
        self.poll_s, self.retry_s, self.max_retry_s = poll_s, retry_s, max_retry_s
        self.sleep = sleep
        self.subscribed = False  # True while messages can arrive; the scheduler polls faster while False
        self.heard = 0
        self.reconnects = 0
        self._pause = retry_s
        self._stopped = False

    def stop(self) -> None:
        """Make run() return at its next step (its task should be cancelled too, to end a read)."""
        self._stopped = True

    async def run(self) -> None:
        """Subscribe and listen until stopped; resubscribe with a doubling pause after any failure."""
        while not self._stopped:
            try:
                await self._listen()
            except (RedisError, RedisClusterException, OSError) as exc:
                if self._stopped:  # a cancellation that raced a read's own timeout comes back as an error
                    return
                # Connection lost, node gone, fail-over: the fallback tick covers the gap.
                log.warning("timer wake-up channel lost; polling until it is back", extra={"error": str(exc)})
            except Exception:
                # Not a Redis failure we know, but a dead listener would leave the scheduler polling for good.
                log.exception("timer wake-up listener failed; polling until it is back")
            if self._stopped:
                return
            await self.sleep(self._pause)
            self._pause = min(2 * self._pause, self.max_retry_s)

    async def _listen(self) -> None:
        pubsub: Any = self.redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.channel)
            self.subscribed, self._pause = True, self.retry_s
            connection = getattr(pubsub, "connection", None)
            if connection is not None:
                # redis-py reconnects and resubscribes inside get_message by itself; hear about it too.
                connection.register_connect_callback(self._reconnected)
            # Whatever was published while we were not listening is lost: look at the store once.
            self.on_due(None)
            while not self._stopped:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=self.poll_s)
                if message is not None and message.get("type") == "message":
                    self.heard += 1
                    self.on_due(_due(message.get("data")))
        finally:
            self.subscribed = False
            with contextlib.suppress(RedisError, OSError, TimeoutError):
                async with asyncio.timeout(1.0):  # closing must never hold up a shutdown
                    await pubsub.aclose()

    async def _reconnected(self, connection: object) -> None:
        # Messages published while the connection was down are lost: the scheduler looks at the store.
        self.reconnects += 1
        self.on_due(None)


def _due(data: object) -> float | None:
    # A message that does not parse still means "something was armed": look again rather than ignore it.
    try:
        return float(data)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
