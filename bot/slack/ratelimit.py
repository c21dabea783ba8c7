"""Slack's per-method rate tiers as token buckets, plus per-channel pacing for messages.

Every method has a bucket: one missing from the table gets tier 2, Slack's default for most write methods,
so a 429 on a method nobody listed is honoured like any other. After a 429 a bucket is "suspect": once its
Retry-After has passed it lets one call through at a time until Slack answers with something else, so a
method still limited costs one call per Retry-After window. Idle buckets are dropped (a full, unblocked
bucket is the same as a new one), so one bucket per channel does not grow without bound.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

# Calls per minute by tier (api.slack.com/apis/rate-limits).
TIER_PER_MINUTE = {1: 1, 2: 20, 3: 50, 4: 100}
DEFAULT_TIER = 2
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
NOT_BEFORE_NEXT_ANSWER = math.inf  # ready_at() of a suspect bucket whose probe call is still out
SWEEP_FLOOR = 64  # below this many buckets, never bother sweeping


class Outcome(Enum):
    """What one call told us about its bucket."""

    ANSWERED = "answered"  # Slack answered, not with 429: the limit is not in force
    LIMITED = "limited"  # HTTP 429
    UNKNOWN = "unknown"  # no answer (network error, timeout): we learnt nothing


@dataclass
class Bucket:
    """A token bucket: `rate` tokens per second up to `capacity`, blocked until a Retry-After has passed."""

    rate: float
    capacity: float
    tokens: float = -1.0
    stamp: float = 0.0
    blocked_until: float = 0.0
    suspect: bool = False
    in_flight: int = 0

    def ready_at(self, now: float) -> float:
        """The monotonic time at which one call may go (inf: wait for the probe call's answer)."""
        if self.suspect and self.in_flight:
            return NOT_BEFORE_NEXT_ANSWER
        self._refill(now)
        if self.tokens >= 1:
            return max(now, self.blocked_until)
        return max(now + (1 - self.tokens) / self.rate, self.blocked_until)

    def held_until(self, now: float) -> float:
        """Like ready_at, counting only Retry-After holds and probes, not tokens (the pacing is done elsewhere)."""
        if self.suspect and self.in_flight:
            return NOT_BEFORE_NEXT_ANSWER
        return max(now, self.blocked_until)

    def take(self, now: float) -> None:
        """Spend one token (call only when ready)."""
        self._refill(now)
        self.tokens -= 1

    def block(self, until: float) -> None:
        """Honour a Retry-After: no call before `until`, then one probe at a time, from an empty bucket."""
        self.blocked_until = max(self.blocked_until, until)
        self.tokens = min(self.tokens, 0.0)
        self.suspect = True

    def idle(self, now: float) -> bool:
        """True when forgetting this bucket changes nothing: full, unblocked, nothing in flight."""
        if self.in_flight or self.suspect or now < self.blocked_until:
            return False
        self._refill(now)
        return self.tokens >= self.capacity

    def _refill(self, now: float) -> None:
        if self.tokens < 0 and self.stamp == 0.0:
            self.tokens, self.stamp = self.capacity, now
            return
        self.tokens = min(self.capacity, self.tokens + max(0.0, now - self.stamp) * self.rate)
        self.stamp = now


@dataclass
class RateLimiter:
    """Buckets per method and per (method, channel); `scale` > 1 speeds every limit up (for tests and drills)."""

    scale: float = 1.0
    per_channel_per_second: float = 1.0
    per_channel_burst: float = 3.0
    clock: Callable[[], float] = time.monotonic
    # False while a budget shared by all replicas paces the calls: 429 holds and probes still apply here.
    pacing: bool = True
    _buckets: dict[str, Bucket] = field(default_factory=dict)
    _sweep_at: int = SWEEP_FLOOR

    def bucket(self, method: str, channel: str | None) -> Bucket:
        """The bucket governing this call (created on first use)."""
        per_channel = method in PER_CHANNEL_METHODS and bool(channel)
        key = f"{method}:{channel}" if per_channel else method
        found = self._buckets.get(key)
        if found is not None:
            return found
        self._maybe_sweep()
        if per_channel:
            found = Bucket(self.per_channel_per_second * self.scale, self.per_channel_burst)
        else:
            per_minute = TIER_PER_MINUTE[METHOD_TIERS.get(method, DEFAULT_TIER)]
            found = Bucket(per_minute * self.scale / 60.0, max(1.0, per_minute / 10))
        self._buckets[key] = found
        return found

    @property
    def size(self) -> int:
        """How many buckets are held."""
        return len(self._buckets)

    def ready_at(self, method: str, channel: str | None, now: float | None = None) -> float:
        """When a call of this method to this channel may go out (judged at `now`, default the clock)."""
        bucket, now = self.bucket(method, channel), self.clock() if now is None else now
        return bucket.ready_at(now) if self.pacing else bucket.held_until(now)

    def take(self, method: str, channel: str | None) -> None:
        """Record that a call goes out now (spends a token and counts it in flight)."""
        bucket = self.bucket(method, channel)
        if self.pacing:  # otherwise tokens spent elsewhere would leave this bucket deep in debt for a fallback
            bucket.take(self.clock())
        bucket.in_flight += 1

    def finished(self, method: str, channel: str | None, outcome: Outcome, retry_after: float = 0.0) -> None:
        """Record how a call taken with take() ended; a 429 holds the bucket for `retry_after` seconds."""
        bucket = self.bucket(method, channel)
        bucket.in_flight = max(0, bucket.in_flight - 1)
        if outcome is Outcome.LIMITED:
            bucket.block(self.clock() + retry_after)
        elif outcome is Outcome.ANSWERED:
            bucket.suspect = False

    def retry_after(self, method: str, channel: str | None, seconds: float) -> None:
        """Slack answered 429: hold this method (and channel) for `seconds`."""
        self.bucket(method, channel).block(self.clock() + seconds)

    def sweep(self) -> int:
        """Drop idle buckets; return how many were dropped."""
        now = self.clock()
        idle = [key for key, bucket in self._buckets.items() if bucket.idle(now)]
        for key in idle:
            del self._buckets[key]
        return len(idle)

    def _maybe_sweep(self) -> None:
        # Sweep when the table has doubled since the last sweep: amortised O(1) per new bucket.
        if len(self._buckets) < self._sweep_at:
            return
        self.sweep()
        self._sweep_at = max(SWEEP_FLOOR, 2 * len(self._buckets))
