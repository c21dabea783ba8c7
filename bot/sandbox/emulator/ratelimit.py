"""Slack's rate-limit tiers, per method and token, plus chat.postMessage's per-channel limit; off by default."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

# Calls per minute for each Web API tier (https://docs.slack.dev/apis/web-api/rate-limits).
TIER_PER_MINUTE: dict[int, int] = {1: 1, 2: 20, 3: 50, 4: 100}

METHOD_TIERS: dict[str, int] = {
    "auth.test": 4,
    "apps.connections.open": 1,
    "conversations.create": 2,
    "conversations.invite": 3,
    "conversations.info": 3,
    "conversations.setTopic": 2,
    "conversations.setPurpose": 2,
    "conversations.archive": 2,
    "conversations.rename": 2,
    "conversations.join": 3,
    "conversations.members": 4,
    "conversations.history": 3,
    "conversations.open": 3,
    "chat.update": 3,
    "chat.postEphemeral": 4,
    "chat.getPermalink": 4,
    "chat.delete": 3,
    "views.open": 4,
    "views.update": 4,
    "views.publish": 4,
    "users.info": 4,
    "users.lookupByEmail": 3,
    "usergroups.list": 2,
    "users.list": 2,
    "usergroups.users.list": 2,
    "pins.add": 2,
    "bookmarks.add": 2,
    "reactions.add": 3,
    "reactions.remove": 2,
    "reactions.get": 3,
    "conversations.unarchive": 2,
    "files.getUploadURLExternal": 4,
    "files.completeUploadExternal": 4,
    "conversations.canvases.create": 2,
    "canvases.edit": 3,
}


@dataclass
class RateLimitConfig:
    """The knobs: switch on, scale every window (0.05 turns "20 per minute" into "20 per 3 s"), tune tiers."""

    enabled: bool = False
    rate_scale: float = 1.0
    tier_per_minute: dict[int, int] = field(default_factory=lambda: dict(TIER_PER_MINUTE))
    method_tiers: dict[str, int] = field(default_factory=lambda: dict(METHOD_TIERS))
    post_message_per_second: float = 1.0
    post_message_burst: int = 3


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Decides whether a call is over its limit, and counts every 429 it causes."""

    def __init__(self, config: RateLimitConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.clock = clock
        self.limited_count = 0
        self._windows: dict[tuple[str, str], deque[float]] = {}
        self._buckets: dict[str, _Bucket] = {}

    def check(self, method: str, token: str, channel: str | None = None) -> int | None:
        """None when the call may proceed (and is counted), else the Retry-After in whole seconds."""
        if not self.config.enabled:
            return None
        if method == "chat.postMessage":
            retry_after = self._check_channel(channel or "")
        else:
            retry_after = self._check_tier(method, token)
        if retry_after is not None:
            self.limited_count += 1
        return retry_after

    def _check_tier(self, method: str, token: str) -> int | None:
        tier = self.config.method_tiers.get(method)
        if tier is None:
            return None
        limit = self.config.tier_per_minute[tier]
        window = 60.0 * self.config.rate_scale
        now = self.clock()
        calls = self._windows.setdefault((method, token), deque())
        while calls and calls[0] <= now - window:
            calls.popleft()
        if len(calls) >= limit:
            return max(1, math.ceil(calls[0] + window - now))
        calls.append(now)
        return None

    def _check_channel(self, channel: str) -> int | None:
        rate = self.config.post_message_per_second / self.config.rate_scale
        burst = float(self.config.post_message_burst)
        now = self.clock()
        bucket = self._buckets.setdefault(channel, _Bucket(tokens=burst, updated=now))
        bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated) * rate)
        bucket.updated = now
        if bucket.tokens < 1.0:
            return max(1, math.ceil((1.0 - bucket.tokens) / rate))
        bucket.tokens -= 1.0
        return None
