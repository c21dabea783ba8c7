"""The gateway's worker: takes calls off the outbox as the local and shared budgets allow, and sends each.

One attempt's answer decides what happens to the call: settled with Slack's data or error, queued again
behind a 429's Retry-After or a refused connection (within its attempts), or failed with an UpstreamError.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import deque

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import metrics
from bot.errors import UpstreamError
from bot.slack.clock import Clock
from bot.slack.errors import describe_gateway_failure, describe_slack_error
from bot.slack.gateway_config import GatewayConfig
from bot.slack.history import Attempt
from bot.slack.outbox import Job, Outbox
from bot.slack.ratelimit import Outcome, RateLimiter
from bot.slack.shared_budget import SharedBudget

log = logging.getLogger(__name__)


def fail_job(job: Job, reason: str, problem: str) -> None:
    """Settle the job with an UpstreamError saying why it was not sent (counted by reason)."""
    metrics.SLACK_CALLS.labels(job.method, reason).inc()
    message = describe_gateway_failure(job.method, reason, problem, job.attempts)
    job.settle(error=UpstreamError(message, slack_error=reason, method=job.method, attempts=job.attempts))


class OutboxSender:
    """Sends the outbox's jobs, at most `max_in_flight` at a time; `run` is the worker the gateway supervises."""

    def __init__(
        self,
        client: AsyncWebClient,
        outbox: Outbox,
        limiter: RateLimiter,
        clock: Clock,
        config: GatewayConfig,
        max_in_flight: int,
        history: int,
    ) -> None:
        self.client = client
        self.outbox = outbox
        self.limiter = limiter
        self.clock = clock
        self.config = config
        # The budget shared with other replicas in Redis (None: this replica's own limits only).
        self.budget: SharedBudget | None = None
        # The last `history` attempts as this gateway saw them: when each left and how it was answered.
        self.history: deque[Attempt] = deque(maxlen=history)
        self.wakeup = asyncio.Event()  # set when a job is queued or a slot frees: look at the outbox again
        self.idle = asyncio.Event()  # set when an attempt ends, for a draining stop()
        self.tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(max_in_flight)

    async def run(self) -> None:
        """Forever: wait for a free slot and a job that may go, then send it in its own task."""
        while True:
            await self._slots.acquire()
            try:
                job = await self._next_job()
            except BaseException:
                self._slots.release()
                raise
            self.outbox.sent(job)
            metrics.SLACK_OUTBOX_DEPTH.set(len(self.outbox.pending))
            self.limiter.take(job.method, job.channel)
            task = asyncio.create_task(self._send(job))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _next_job(self) -> Job:
        """Wait until a job may go; fail jobs whose deadline passes meanwhile."""
        while True:
            now = self.clock.now()
            for late in self.outbox.overdue(now):
                fail_job(late, "deadline_exceeded", self.outbox.why_waiting(late, self.limiter, now))
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
            self.wakeup.clear()
            await self.clock.wait(self.wakeup, wait)

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
            fail_job(job, "timeout", f"no answer within {limit:g} s")
        except aiohttp.ClientConnectorError as exc:
            self._retry_or_fail(job, "unreachable", f"cannot connect to Slack ({exc.os_error})")
        except Exception as exc:  # a reset or other network failure after slack-sdk's own retries
            fail_job(job, "network_error", f"{type(exc).__name__}: {exc}")
        except asyncio.CancelledError:
            # The gateway is stopping: the caller must hear now, not at the call's deadline minutes later.
            fail_job(job, "cancelled", "the bot stopped while the call was in flight; Slack may have acted on it")
            raise
        finally:
            attempt.answered_at, attempt.status, attempt.retry_after = self.clock.now(), outcome.value, retry_after
            self.limiter.finished(job.method, job.channel, outcome, retry_after)
            self.outbox.returned(job)
            self._slots.release()
            self.wakeup.set()
            self.idle.set()
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
                fail_job(job, "ratelimited", f"rate limited with Retry-After {retry_after:g} s, past the deadline")
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
            fail_job(job, reason, problem)
            return
        if reason == "unreachable":
            job.not_before = self.clock.now() + self.config.connect_backoff * 2 ** (job.attempts - 1)
        self.outbox.requeue(job)
        metrics.SLACK_OUTBOX_DEPTH.set(len(self.outbox.pending))


def _retry_after(header: str | None) -> float:
    """Slack's Retry-After in seconds; a missing or odd header counts as 1 s, never less."""
    try:
        return max(1.0, float(header or 1))
    except ValueError:
        return 1.0
