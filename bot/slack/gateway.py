"""The Slack gateway: every Web API call goes through one prioritised, rate-limited outbox.

Pages and approvals go before normal posts, normal posts before cosmetic edits; repeated updates of one
message merge into the latest; messages to a channel keep their order. A 429 holds that method (any method:
unknown ones count as tier 2) for its Retry-After and the call is sent again. Nothing waits forever: every
call has a deadline and a bounded number of attempts, after which its caller gets an UpstreamError saying
why; the worker that sends calls (bot.slack.sender) is supervised and restarted (logged, counted) if it dies.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot import metrics
from bot.errors import UpstreamError
from bot.slack.clock import Clock, MonotonicClock
from bot.slack.gateway_config import GatewayConfig
from bot.slack.history import Attempt
from bot.slack.naming import with_suffix
from bot.slack.outbox import Outbox, Priority
from bot.slack.ratelimit import RateLimiter
from bot.slack.sender import OutboxSender, fail_job
from bot.slack.shared_budget import SharedBudget
from bot.waits import wait_event

__all__ = ["GatewayConfig", "Priority", "SlackGateway"]

log = logging.getLogger(__name__)
ABANDON_GRACE = 1.0  # callers give up this long after their deadline if the worker has not answered


class SlackGateway:
    """One outbox in front of AsyncWebClient; start() before use, stop() to drain."""

    def __init__(
        self,
        client: AsyncWebClient,
        limiter: RateLimiter | None = None,
        max_in_flight: int | None = None,
        *,
        config: GatewayConfig | None = None,
        clock: Clock | None = None,
        budget: SharedBudget | None = None,
        history: int = 0,
    ) -> None:
        self.client = client
        self.config = config or GatewayConfig()
        self.clock: Clock = clock or MonotonicClock()
        self.limiter = limiter or RateLimiter(clock=self.clock.now)
        self.outbox = Outbox()
        in_flight = max_in_flight or self.config.max_in_flight
        self.sender = OutboxSender(client, self.outbox, self.limiter, self.clock, self.config, in_flight, history)
        self.sender.budget = budget
        self.restarts = 0
        self._supervisor: asyncio.Task[None] | None = None
        self.worker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the supervised outbox worker."""
        if self._supervisor is None:
            self._supervisor = asyncio.create_task(self._supervise(), name="slack-outbox")

    async def stop(self, drain_timeout: float = 10.0) -> None:
        """Let queued calls go out (up to `drain_timeout`), then stop the worker and fail what is left."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + drain_timeout
        sending = self.sender.tasks
        while (self.outbox.pending or sending) and loop.time() < deadline:
            self.sender.idle.clear()
            await wait_event(self.sender.idle, 0.1)
        for task in (self._supervisor, self.worker, *sending):
            if task is not None:
                task.cancel()
        await asyncio.gather(*(t for t in (self._supervisor, self.worker, *sending) if t), return_exceptions=True)
        self._supervisor = self.worker = None
        for job in self.outbox.pending:
            job.settle(error=UpstreamError(f"Slack {job.method} not sent: the bot is shutting down"))
        self.outbox.pending.clear()

    @property
    def budget(self) -> SharedBudget | None:
        """The budget shared with other replicas in Redis (None: this replica's own limits only)."""
        return self.sender.budget

    @budget.setter
    def budget(self, budget: SharedBudget | None) -> None:
        self.sender.budget = budget

    @property
    def history(self) -> deque[Attempt]:
        """The last attempts as this gateway saw them: when each left and how it was answered."""
        return self.sender.history

    @history.setter
    def history(self, history: deque[Attempt]) -> None:
        self.sender.history = history

    @property
    def depth(self) -> int:
        """Calls waiting to go out."""
        return len(self.outbox.pending)

    async def call(
        self, method: str, priority: Priority = Priority.NORMAL, *, deadline_s: float | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """Queue one Web API call and wait for Slack's answer; raises UpstreamError with a human message.

        `deadline_s` shortens (or lengthens) the configured deadline for this call, e.g. for cosmetic calls.
        """
        return await self._enqueue(method, priority, kwargs, merge_key=None, deadline_s=deadline_s)

    async def post_message(
        self, channel: str, text: str, blocks: list[dict[str, Any]] | None = None, priority: Priority = Priority.NORMAL
    ) -> str:
        """Post a message; returns its ts."""
        kwargs: dict[str, Any] = {"channel": channel, "text": text}
        if blocks is not None:
            kwargs["blocks"] = blocks
        response = await self.call("chat.postMessage", priority, **kwargs)
        return str(response["ts"])

    async def update_message(
        self,
        channel: str,
        ts: str,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        priority: Priority = Priority.COSMETIC,
    ) -> dict[str, Any]:
        """Edit a message; a newer edit of the same message replaces one still waiting."""
        kwargs: dict[str, Any] = {"channel": channel, "ts": ts, "text": text}
        if blocks is not None:
            kwargs["blocks"] = blocks
        return await self._enqueue("chat.update", priority, kwargs, merge_key=("chat.update", channel, ts))

    async def create_channel(self, name: str, is_private: bool = False, attempts: int = 20) -> tuple[str, str]:
        """Create a channel, adding -2, -3 … while the name is taken; returns (id, name)."""
        for attempt in range(attempts):
            candidate = with_suffix(name, attempt)
            try:
                response = await self.call(
                    "conversations.create", Priority.APPROVAL, name=candidate, is_private=is_private
                )
            except UpstreamError as exc:
                if exc.details.get("slack_error") == "name_taken":
                    continue
                raise
            channel = response["channel"]
            return str(channel["id"]), str(channel["name"])
        raise UpstreamError(f"no free channel name for {name!r} after {attempts} tries; archive old incident channels")

    # --- queueing and waiting -----------------------------------------------------------------------------------

    async def _enqueue(
        self,
        method: str,
        priority: Priority,
        kwargs: dict[str, Any],
        merge_key: tuple[str, ...] | None,
        deadline_s: float | None = None,
    ) -> dict[str, Any]:
        deadline = self.clock.now() + (self.config.deadline if deadline_s is None else deadline_s)
        job = self.outbox.add(method, int(priority), kwargs, deadline, merge_key)
        metrics.SLACK_OUTBOX_DEPTH.set(self.depth)
        self.sender.wakeup.set()
        # The worker settles the job by its deadline; waiting a little longer covers a worker that is down.
        if not await self.clock.wait(job.done, job.deadline - self.clock.now() + ABANDON_GRACE):
            self.outbox.discard(job)
            log.error("slack call abandoned: the outbox did not answer", extra={"method": method})
            fail_job(job, "deadline_exceeded", "the outbox worker did not answer in time")
        return await job.future

    # --- the supervised worker ----------------------------------------------------------------------------------

    async def _supervise(self) -> None:
        delay = self.config.restart_delay
        while True:
            loop = asyncio.get_running_loop()
            started = loop.time()
            worker = self.worker = asyncio.create_task(self.sender.run(), name="slack-outbox-worker")
            await asyncio.wait({worker})
            error = None if worker.cancelled() else worker.exception()
            self.restarts += 1
            metrics.SLACK_OUTBOX_RESTARTS.inc()
            if loop.time() - started > self.config.max_restart_delay:
                delay = self.config.restart_delay  # it had been healthy for a long while: not a crash loop
            log.error(
                "slack outbox worker died; restarting",
                exc_info=error,
                extra={"reason": repr(error) if error else "cancelled", "pending": self.depth, "restart_in": delay},
            )
            await self.clock.wait(asyncio.Event(), delay)
            delay = min(2 * delay, self.config.max_restart_delay)
