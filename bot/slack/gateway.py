"""The Slack gateway: every Web API call goes through one prioritised, rate-limited outbox.

Pages and approvals go before normal posts, normal posts before cosmetic edits; repeated
updates of one message merge into the latest; a 429 holds that method for its Retry-After
and the call is sent again, so nothing is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import metrics
from bot.errors import UpstreamError
from bot.slack.errors import describe_slack_error
from bot.slack.naming import with_suffix
from bot.slack.ratelimit import RateLimiter

log = logging.getLogger(__name__)


class Priority(IntEnum):
    """Outbox order: lower goes first."""

    PAGE = 0
    APPROVAL = 1
    NORMAL = 2
    COSMETIC = 3


@dataclass(order=True)
class _Job:
    priority: int
    seq: int
    method: str = field(compare=False)
    kwargs: dict[str, Any] = field(compare=False)
    channel: str | None = field(compare=False)
    future: asyncio.Future[dict[str, Any]] = field(compare=False)
    merge_key: tuple[str, ...] | None = field(compare=False, default=None)


class SlackGateway:
    """One outbox in front of AsyncWebClient; start() before use, stop() to drain."""

    def __init__(self, client: AsyncWebClient, limiter: RateLimiter | None = None, max_in_flight: int = 8) -> None:
        self.client = client
        self.limiter = limiter or RateLimiter()
        self._pending: list[_Job] = []
        self._seq = itertools.count()
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._slots = asyncio.Semaphore(max_in_flight)
        self._runner: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Start the outbox worker."""
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(), name="slack-outbox")

    async def stop(self, drain_timeout: float = 10.0) -> None:
        """Let queued calls go out (up to `drain_timeout`), then stop the worker."""
        deadline = asyncio.get_running_loop().time() + drain_timeout
        while (self._pending or self._tasks) and asyncio.get_running_loop().time() < deadline:
            self._idle.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), timeout=0.1)
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
            self._runner = None
        for job in self._pending:
            if not job.future.done():
                job.future.set_exception(UpstreamError(f"Slack {job.method} not sent: the bot is shutting down"))
        self._pending.clear()

    @property
    def depth(self) -> int:
        """Calls waiting to go out."""
        return len(self._pending)

    async def call(self, method: str, priority: Priority = Priority.NORMAL, **kwargs: Any) -> dict[str, Any]:
        """Queue one Web API call and wait for Slack's answer; raises UpstreamError with a human message."""
        return await self._enqueue(method, priority, kwargs, merge_key=None)

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

    async def _enqueue(
        self, method: str, priority: Priority, kwargs: dict[str, Any], merge_key: tuple[str, ...] | None
    ) -> dict[str, Any]:
        if merge_key is not None:
            for job in self._pending:
                if job.merge_key == merge_key:
                    job.kwargs = kwargs
                    job.priority = min(job.priority, int(priority))
                    self._pending.sort()
                    return await asyncio.shield(job.future)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        channel = kwargs.get("channel")
        job = _Job(int(priority), next(self._seq), method, kwargs, channel, future, merge_key)
        self._pending.append(job)
        self._pending.sort()
        metrics.SLACK_OUTBOX_DEPTH.set(len(self._pending))
        self._wakeup.set()
        return await asyncio.shield(future)

    def _next_ready(self) -> tuple[_Job | None, float | None]:
        """The first job (by priority) whose limits allow it now, else how long until one does."""
        now = self.limiter.clock()
        soonest: float | None = None
        for job in self._pending:
            ready = self.limiter.ready_at(job.method, job.channel, now)
            if ready <= now:
                return job, None
            soonest = ready if soonest is None else min(soonest, ready)
        return None, None if soonest is None else max(0.0, soonest - now)

    async def _run(self) -> None:
        while True:
            job, wait = self._next_ready()
            if job is None:
                self._wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), timeout=wait)
                continue
            await self._slots.acquire()
            self._pending.remove(job)
            metrics.SLACK_OUTBOX_DEPTH.set(len(self._pending))
            self.limiter.take(job.method, job.channel)
            task = asyncio.create_task(self._send(job))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _send(self, job: _Job) -> None:
        try:
            func = getattr(self.client, job.method.replace(".", "_"))
            response = await func(**job.kwargs)
            metrics.SLACK_CALLS.labels(job.method, "ok").inc()
            if not job.future.done():
                job.future.set_result(dict(response.data) if isinstance(response.data, dict) else {})
        except SlackApiError as exc:
            self._on_slack_error(job, exc)
        except Exception as exc:  # network failures after slack-sdk's own retries
            metrics.SLACK_CALLS.labels(job.method, "error").inc()
            if not job.future.done():
                job.future.set_exception(UpstreamError(f"Slack {job.method} failed: {exc}"))
        finally:
            self._slots.release()
            self._wakeup.set()
            self._idle.set()

    def _on_slack_error(self, job: _Job, exc: SlackApiError) -> None:
        status = getattr(exc.response, "status_code", None)
        if status == 429:
            retry_after = float(exc.response.headers.get("Retry-After", "1") or 1)
            metrics.SLACK_RATE_LIMITED.labels(job.method).inc()
            log.info("slack rate limited", extra={"method": job.method, "retry_after": retry_after})
            self.limiter.retry_after(job.method, job.channel, retry_after)
            self._pending.append(job)
            self._pending.sort()
            return
        error = str(exc.response.get("error", "unknown_error"))
        metrics.SLACK_CALLS.labels(job.method, error).inc()
        if not job.future.done():
            job.future.set_exception(
                UpstreamError(describe_slack_error(job.method, error, exc.response.data), slack_error=error)
            )
