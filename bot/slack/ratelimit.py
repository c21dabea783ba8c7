"""Slack's per-method rate tiers as token buckets, plus per-channel pacing for messages."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

# Calls per minute by tier (api.slack.com/apis/rate-limits).
TIER_PER_MINUTE = {1: 1, 2: 20, 3: 50, 4: 100}
METHOD_TIERS: dict[str, int] = {
    "conversations.create": 2,
    "conversations.setTopic": 2,
    "conversations.setPurpose": 2,
    "conversations.archive": 2,
    "conversations.rename": 2,
    "usergroups.list": 2,
    "usergroups.users.list": 2,
    "pins.add": 2,
    "bookmarks.add": 2,
    "conversations.invite": 3,
    "conversations.info": 3,
    "conversations.history": 3,
    "conversations.join": 3,
    "conversations.open": 3,
    "chat.update": 3,
    "reactions.add": 3,
    "users.info": 4,
    "users.lookupByEmail": 3,
    "conversations.members": 4,
    "chat.postEphemeral": 4,
    "views.open": 4,
    "views.update": 4,
    "views.publish": 4,
    "chat.getPermalink": 4,
}
# chat.postMessage is "special": about one message per second per channel, with short bursts allowed.
PER_CHANNEL_METHODS = frozenset({"chat.postMessage"})


@dataclass
class Bucket:
    """A token bucket: `rate` tokens per second up to `capacity`."""

    rate: float
    capacity: float
    tokens: float = -1.0
    stamp: float = 0.0
    blocked_until: float = 0.0

    def ready_at(self, now: float) -> float:
        """The monotonic time at which one token is available."""
        self._refill(now)
        if self.tokens >= 1:
            return max(now, self.blocked_until)
        return max(now + (1 - self.tokens) / self.rate, self.blocked_until)

    def take(self, now: float) -> None:
        """Spend one token (call only when ready)."""
        self._refill(now)
        self.tokens -= 1

    def block(self, until: float) -> None:
        """Honour a Retry-After: no call before `until`, and start again with an empty bucket."""
        self.blocked_until = max(self.blocked_until, until)
        self.tokens = min(self.tokens, 0.0)

    def _refill(self, now: float) -> None:
        if self.tokens < 0 and self.stamp == 0.0:
            self.tokens, self.stamp = self.capacity, now
            return
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now


@dataclass
class RateLimiter:
    """Buckets per method and per (method, channel); `scale` > 1 speeds every limit up (for tests and drills)."""

    scale: float = 1.0
    per_channel_per_second: float = 1.0
    per_channel_burst: float = 3.0
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, Bucket] = field(default_factory=dict)

    def bucket(self, method: str, channel: str | None) -> Bucket | None:
        """The bucket governing this call, or None when the method is not limited."""
        if method in PER_CHANNEL_METHODS and channel:
            key = f"{method}:{channel}"
            if key not in self._buckets:
                self._buckets[key] = Bucket(self.per_channel_per_second * self.scale, self.per_channel_burst)
            return self._buckets[key]
        tier = METHOD_TIERS.get(method)
        if tier is None:
            return None
        if method not in self._buckets:
            per_minute = TIER_PER_MINUTE[tier]
            self._buckets[method] = Bucket(per_minute * self.scale / 60.0, max(1.0, per_minute / 10))
        return self._buckets[method]

    def ready_at(self, method: str, channel: str | None, now: float | None = None) -> float:
        """When a call of this method to this channel may go out (judged at `now`, default the clock)."""
        now = self.clock() if now is None else now
        bucket = self.bucket(method, channel)
        return now if bucket is None else bucket.ready_at(now)

    def take(self, method: str, channel: str | None) -> None:
        """Record that a call goes out now."""
        bucket = self.bucket(method, channel)
        if bucket is not None:
            bucket.take(self.clock())

    def retry_after(self, method: str, channel: str | None, seconds: float) -> None:
        """Slack answered 429: hold this method (and channel) for `seconds`."""
        bucket = self.bucket(method, channel)
        if bucket is not None:
            bucket.block(self.clock() + seconds)
