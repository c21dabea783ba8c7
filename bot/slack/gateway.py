"""The Slack gateway: every Web API call goes through one prioritised, rate-limited outbox.

Pages and approvals go before normal posts, normal posts before cosmetic edits; repeated updates of one
message merge into the latest; messages to a channel keep their order. A 429 holds that method (any method:
unknown ones count as tier 2) for its Retry-After and the call is sent again. Nothing waits forever: every
call has a deadline and a bounded number of attempts, after which its caller gets an UpstreamError saying
why; the worker that sends calls is supervised and restarted (logged, counted) if it dies.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import deque
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import metrics
from bot.errors import UpstreamError
from bot.slack.clock import Clock, MonotonicClock
from bot.slack.errors import describe_gateway_failure, describe_slack_error
from bot.slack.history import Attempt
from bot.slack.naming import with_suffix
from bot.slack.outbox import Job, Outbox, Priority
from bot.slack.ratelimit import Outcome, RateLimiter
from bot.slack.shared_budget import SharedBudget
from bot.waits import wait_event

__all__ = ["GatewayConfig", "Priority", "SlackGateway"]

log = logging.getLogger(__name__)
ABANDON_GRACE = 1.0  # callers give up this long after their deadline if the worker has not answered


@dataclass(frozen=True)
class GatewayConfig:
    """How long and how often the gateway tries one call."""

    deadline: float = 120.0  # enqueue to answer, Retry-After waits and retries included
    attempt_timeout: float = 20.0  # one HTTP attempt, slack-sdk's own connection retries included
    max_attempts: int = 5  # 429s and refused connections count; then UpstreamError
    max_in_flight: int = 8
    connect_backoff: float = 1.0  # first pause after a refused connection, doubled each time
    restart_delay: float = 0.5  # first pause before restarting a dead worker, doubled up to max_restart_delay
    max_restart_delay: float = 30.0


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
        # The budget shared with other replicas in Redis (None: this replica's own limits only).
        self.budget = budget
        # The last `history` attempts as this gateway saw them: when each left and how it was answered.
        self.history: deque[Attempt] = deque(maxlen=history)
        self.restarts = 0
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._slots = asyncio.Semaphore(max_in_flight or self.config.max_in_flight)
        self._supervisor: asyncio.Task[None] | None = None
        self.worker: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Start the supervised outbox worker."""
        if self._supervisor is None:
            self._supervisor = asyncio.create_task(self._supervise(), name="slack-outbox")

    async def stop(self, drain_timeout: float = 10.0) -> None:
        """Let queued calls go out (up to `drain_timeout`), then stop the worker and fail what is left."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + drain_timeout
        while (self.outbox.pending or self._tasks) and loop.time() < deadline:
            self._idle.clear()
            await wait_event(self._idle, 0.1)
        for task in (self._supervisor, self.worker, *self._tasks):
            if task is not None:
                task.cancel()
        await asyncio.gather(*(t for t in (self._supervisor, self.worker, *self._tasks) if t), return_exceptions=True)
        self._supervisor = self.worker = None
        for job in self.outbox.pending:
            job.settle(error=UpstreamError(f"Slack {job.method} not sent: the bot is shutting down"))
        self.outbox.pending.clear()

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
        self._wakeup.set()
        # The worker settles the job by its deadline; waiting a little longer covers a worker that is down.
        if not await self.clock.wait(job.done, job.deadline - self.clock.now() + ABANDON_GRACE):
            self.outbox.discard(job)
            log.error("slack call abandoned: the outbox did not answer", extra={"method": method})
            self._fail(job, "deadline_exceeded", "the outbox worker did not answer in time")
        return await job.future

    def _fail(self, job: Job, reason: str, problem: str) -> None:
        metrics.SLACK_CALLS.labels(job.method, reason).inc()
        message = describe_gateway_failure(job.method, reason, problem, job.attempts)
        job.settle(error=UpstreamError(message, slack_error=reason, method=job.method, attempts=job.attempts))

    # --- the worker ---------------------------------------------------------------------------------------------

    async def _supervise(self) -> None:
        delay = self.config.restart_delay
        while True:
            loop = asyncio.get_running_loop()
            started = loop.time()
            worker = self.worker = asyncio.create_task(self._run(), name="slack-outbox-worker")
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

    async def _run(self) -> None:
        while True:
            await self._slots.acquire()
            try:
                job = await self._next_job()
            except BaseException:
                self._slots.release()
                raise
            self.outbox.sent(job)
            metrics.SLACK_OUTBOX_DEPTH.set(self.depth)
            self.limiter.take(job.method, job.channel)
            task = asyncio.create_task(self._send(job))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _next_job(self) -> Job:
        """Wait until a job may go; fail jobs whose deadline passes meanwhile."""
        while True:
            now = self.clock.now()
            for late in self.outbox.overdue(now):
                self._fail(late, "deadline_exceeded", self.outbox.why_waiting(late, self.limiter, now))
            job, wait = self.outbox.next_ready(self.limiter, now)
            if job is not None:
                shared_wait = await self._shared_wait(job)
                if not shared_wait and self._still_ready(job):
                    return job
                if not shared_wait:
                    continue  # while Redis answered, a 429 came back or the job left the queue: look again
                # Other replicas spent the shared budget (or a 429 holds it): try again when it allows.
                job.not_before = max(job.not_before, self.clock.now() + shared_wait)
                continue
            self._wakeup.clear()
            await self.clock.wait(self._wakeup, wait)

    def _still_ready(self, job: Job) -> bool:
        """True when the job is still queued and its local hold still lets it go now."""
        return job in self.outbox.pending and self.limiter.ready_at(job.method, job.channel) <= self.clock.now()

    async def _shared_wait(self, job: Job) -> float:
        """Seconds the shared budget asks this job to wait (0: go; also 0 when Redis fails)."""
        if self.budget is None:
            return 0.0
        job.ticket = secrets.token_hex(8)
        wait = await self.budget.acquire(job.method, job.channel, job.ticket)
        # While the shared budget answers, it alone paces calls; when Redis fails, this replica's buckets do.
        self.limiter.pacing = self.budget.degraded
        return wait

    async def _send(self, job: Job) -> None:
        job.attempts += 1
        outcome, retry_after = Outcome.UNKNOWN, 0.0
        attempt, ticket = Attempt(job.method, job.channel, self.clock.now()), job.ticket
        self.history.append(attempt)
        limit = max(0.0, min(self.config.attempt_timeout, job.deadline - self.clock.now()))
        try:
            async with asyncio.timeout(limit):
                response = await getattr(self.client, job.method.replace(".", "_"))(**job.kwargs)
            outcome = Outcome.ANSWERED
            metrics.SLACK_CALLS.labels(job.method, "ok").inc()
            job.settle(dict(response.data) if isinstance(response.data, dict) else {})
        except SlackApiError as exc:
            outcome, retry_after = self._on_slack_error(job, exc)
        except TimeoutError:
            # Slack may have acted on the call: not retried here, the caller decides.
            self._fail(job, "timeout", f"no answer within {limit:g} s")
        except aiohttp.ClientConnectorError as exc:
            self._retry_or_fail(job, "unreachable", f"cannot connect to Slack ({exc.os_error})")
        except Exception as exc:  # a reset or other network failure after slack-sdk's own retries
            self._fail(job, "network_error", f"{type(exc).__name__}: {exc}")
        finally:
            attempt.answered_at, attempt.status, attempt.retry_after = self.clock.now(), outcome.value, retry_after
            self.limiter.finished(job.method, job.channel, outcome, retry_after)
            self.outbox.returned(job)
            self._slots.release()
            self._wakeup.set()
            self._idle.set()
        if self.budget is not None and outcome is Outcome.LIMITED:
            await self.budget.hold(job.method, job.channel, retry_after)  # holds every replica, not just this one
        elif self.budget is not None and ticket:
            await self.budget.settle(job.method, job.channel, ticket)

    def _on_slack_error(self, job: Job, exc: SlackApiError) -> tuple[Outcome, float]:
        status = getattr(exc.response, "status_code", None)
        data = exc.response.data if isinstance(exc.response.data, dict) else {}
        if status == 429:
            retry_after = _retry_after(exc.response.headers.get("Retry-After"))
            metrics.SLACK_RATE_LIMITED.labels(job.method).inc()
            log.info("slack rate limited", extra={"method": job.method, "retry_after": retry_after})
            if self.clock.now() + retry_after >= job.deadline:
                self._fail(job, "ratelimited", f"rate limited with Retry-After {retry_after:g} s, past the deadline")
            else:
                self._retry_or_fail(job, "ratelimited", f"rate limited (Retry-After {retry_after:g} s)")
            return Outcome.LIMITED, retry_after
        error = str(data.get("error") or f"http_{status}")
        metrics.SLACK_CALLS.labels(job.method, error).inc()
        job.settle(error=UpstreamError(describe_slack_error(job.method, error, data), slack_error=error))
        return Outcome.ANSWERED, 0.0

    def _retry_or_fail(self, job: Job, reason: str, problem: str) -> None:
        """Queue the job again (its bucket or backoff decides when), unless it has used all its attempts."""
        job.last_problem = problem
        if job.attempts >= self.config.max_attempts:
            self._fail(job, reason, problem)
            return
        if reason == "unreachable":
            job.not_before = self.clock.now() + self.config.connect_backoff * 2 ** (job.attempts - 1)
        self.outbox.requeue(job)
        metrics.SLACK_OUTBOX_DEPTH.set(self.depth)


def _retry_after(header: str | None) -> float:
    """Slack's Retry-After in seconds; a missing or odd header counts as 1 s, never less."""
    try:
        return max(1.0, float(header or 1))
    except ValueError:
        return 1.0
