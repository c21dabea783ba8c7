"""One Slack rate budget for every replica: a Lua-kept limit per method (and per channel) held in Redis.

Slack's limits count per app and workspace, so replicas must share them. A tier is a window of the calls of the
last minute (a sorted set), per-channel pacing a token bucket (a hash); each sits beside its hold key under one
hash tag (`rb:{slack:conversations.create}:window` / `:hold`), so a script touches one Cluster slot. Time inside
the scripts is Redis `TIME`: replicas' clocks may drift apart, the Redis server's clock is the one reading every
replica shares (tests pass an explicit time instead). A Redis error or slow answer never holds a Slack call back:
the gateway falls back to its in-process limits, logged once per outage and counted, and asks Redis again after
`retry_s`, doubling while it keeps failing (a hung Redis costs one bounded wait per pause, not one per call).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from typing import Literal

from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from bot import metrics
from bot.connections import Redis
from bot.keys import Keys
from bot.slack.budget_scripts import BUCKET, HOLD, SETTLE, WINDOW
from bot.slack.clock import Clock
from bot.slack.ratelimit import DEFAULT_TIER, METHOD_TIERS, PER_CHANNEL_METHODS, TIER_PER_MINUTE

log = logging.getLogger(__name__)
MAX_PAUSE_S = 10.0  # while Redis keeps failing, it is asked again at most this rarely
JITTER_S = 0.05  # how much later than granted a call may reach Slack without going over its limit


@dataclass(frozen=True)
class Limit:
    """One shared limit: a window of `count` calls per `window_s` (a tier) or a token bucket (per channel)."""

    name: str  # "conversations.create" or "chat.postMessage:C123"
    kind: Literal["window", "bucket"]
    count: int = 0
    window_s: float = 0.0
    per_second: float = 0.0
    capacity: float = 0.0


def shared_limit(
    method: str, channel: str | None, scale: float = 1.0, per_channel_per_second: float = 1.0, burst: float = 3.0
) -> Limit:
    """The shared limit for a call, with JITTER_S of room so calls that reach Slack a little late still fit.

    A tier (N per minute) is a window of N calls per minute plus JITTER_S: the whole tier, burst included, and
    never more in any minute as Slack counts them. Per-channel pacing is a bucket on Slack's side too: ours
    refills 3 % slower and gives up JITTER_S worth of burst.
    """
    if method in PER_CHANNEL_METHODS and channel:
        rate = per_channel_per_second * scale
        return Limit(
            f"{method}:{channel}", "bucket", per_second=rate * 0.97, capacity=max(1.0, burst - rate * JITTER_S)
        )
    per_minute = TIER_PER_MINUTE[METHOD_TIERS.get(method, DEFAULT_TIER)]
    return Limit(method, "window", count=per_minute, window_s=60.0 / scale + JITTER_S)


class SharedBudget:
    """Asks Redis whether a call may go; says "go" on any Redis trouble so the local limits rule alone."""

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        clock: Clock,
        *,
        scale: float = 1.0,
        timeout_s: float = 0.25,
        retry_s: float = 1.0,
    ) -> None:
        self.redis, self.keys, self.clock = redis, keys, clock
        self.scale = scale
        self.timeout_s, self.retry_s = timeout_s, retry_s
        self._pause = retry_s  # doubles while Redis keeps failing, up to MAX_PAUSE_S
        self.degraded_until: float | None = None  # set while Redis is failing: local limits only until then
        self._waits: dict[str, float] = {}  # limit name -> clock time before which Redis said "wait"
        self._window = redis.register_script(WINDOW)
        self._bucket = redis.register_script(BUCKET)
        self._hold = redis.register_script(HOLD)
        self._settle = redis.register_script(SETTLE)

    @property
    def degraded(self) -> bool:
        """True while the last Redis call failed: calls follow the in-process limits only."""
        return self.degraded_until is not None

    async def acquire(
        self, method: str, channel: str | None, ticket: str | None = None, now_ms: int | None = None
    ) -> float:
        """Seconds to wait before this call may go; 0 means it may go now (counted under `ticket` for settle())."""
        if self._skipping():
            return 0.0
        limit = shared_limit(method, channel, self.scale)
        known = self._known_wait(limit.name) if now_ms is None else 0.0
        if known:
            return known  # other replicas' calls and holds only ever push it later: no need to ask again
        now = "" if now_ms is None else str(now_ms)
        if limit.kind == "window":
            keys = [self.keys.slack_window(limit.name), self.keys.slack_hold(limit.name)]
            args = [now, str(limit.count), str(round(limit.window_s * 1000)), ticket or secrets.token_hex(8)]
            script = self._window
        else:
            keys = [self.keys.slack_bucket(limit.name), self.keys.slack_hold(limit.name)]
            args = [now, repr(limit.per_second / 1000.0), repr(limit.capacity)]
            script = self._bucket
        wait_ms = await self._run(script, keys, args)
        wait = 0.0 if wait_ms is None else max(0.0, float(wait_ms)) / 1000.0
        if wait and now_ms is None:
            self._remember(limit.name, wait)
        return wait

    async def settle(self, method: str, channel: str | None, ticket: str, now_ms: int | None = None) -> None:
        """The call went out and came back: count it in its window from now, the latest Slack can have seen it.

        Calls are counted when allowed, but a busy replica may send them late; counting each from its answer
        keeps a late call from pushing a window over Slack's count.
        """
        limit = shared_limit(method, channel, self.scale)
        if limit.kind != "window" or self._skipping():
            return
        keys = [self.keys.slack_window(limit.name), self.keys.slack_hold(limit.name)]
        args = ["" if now_ms is None else str(now_ms), ticket, str(round(limit.window_s * 1000))]
        await self._run(self._settle, keys, args)

    async def hold(self, method: str, channel: str | None, seconds: float, now_ms: int | None = None) -> None:
        """Slack answered 429: hold this method (or channel) for every replica for `seconds`."""
        if self._skipping():
            return
        limit = shared_limit(method, channel, self.scale)
        window = limit.kind == "window"
        keys = [
            self.keys.slack_window(limit.name) if window else self.keys.slack_bucket(limit.name),
            self.keys.slack_hold(limit.name),
        ]
        ms = str(max(1, round(seconds * 1000)))
        args = [
            "" if now_ms is None else str(now_ms),
            ms,
            limit.kind,
            str(limit.count),
            str(round(limit.window_s * 1000)),
        ]
        await self._run(self._hold, keys, args)

    async def _run(self, script: AsyncScript, keys: list[str], args: list[str]) -> int | None:
        """The script's answer, or None (and the fallback noted) when Redis fails or is slow."""
        try:
            async with asyncio.timeout(self.timeout_s):
                answer = await script(keys=keys, args=args)
        except (RedisError, OSError, TimeoutError) as exc:
            self._failed(exc)
            return None
        self._recovered()
        return int(answer)

    def _known_wait(self, name: str) -> float:
        """Seconds still to wait that Redis already gave for this limit (0: ask it), so a queue of calls of one
        method costs one script call per wake-up, not one per queued call."""
        until = self._waits.get(name)
        if until is None:
            return 0.0
        left = until - self.clock.now()
        if left <= 0:
            del self._waits[name]
            return 0.0
        return left

    def _remember(self, name: str, wait: float) -> None:
        if len(self._waits) >= 1024:  # one entry per busy channel at most; drop the ones that are over
            now = self.clock.now()
            self._waits = {key: until for key, until in self._waits.items() if until > now}
        self._waits[name] = self.clock.now() + wait

    def _skipping(self) -> bool:
        # After a failure, give Redis a pause before asking again, so an outage costs one timeout, not one per call.
        return self.degraded_until is not None and self.clock.now() < self.degraded_until

    def _failed(self, exc: BaseException) -> None:
        metrics.SLACK_SHARED_BUDGET_FALLBACKS.inc()
        if self.degraded_until is None:
            log.warning(
                "shared Slack budget unavailable: using this replica's own limits",
                extra={"error": f"{type(exc).__name__}: {exc}"},
            )
            metrics.SLACK_SHARED_BUDGET_DEGRADED.set(1)
        else:
            self._pause = min(2 * self._pause, MAX_PAUSE_S)
        self.degraded_until = self.clock.now() + self._pause

    def _recovered(self) -> None:
        if self.degraded_until is not None:
            log.info("shared Slack budget available again")
            metrics.SLACK_SHARED_BUDGET_DEGRADED.set(0)
            self.degraded_until = None
            self._pause = self.retry_s
