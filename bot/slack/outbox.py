"""The gateway's queue: jobs by priority, merged edits, deadlines, and which job may go next.

A job may go when its rate-limit bucket allows it and, for messages, when no earlier message to the same
channel is still waiting or in flight, so a channel reads in the order its messages were queued (a page,
queued with a higher priority, still goes before normal posts that have not left yet).
"""

from __future__ import annotations

import asyncio
import itertools
import math
from collections import Counter
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from bot.slack.ratelimit import PER_CHANNEL_METHODS, RateLimiter

ORDERED_METHODS = PER_CHANNEL_METHODS


class Priority(IntEnum):
    """Outbox order: lower goes first."""

    PAGE = 0
    APPROVAL = 1
    NORMAL = 2
    COSMETIC = 3


@dataclass(order=True)
class Job:
    """One queued Web API call and the future its callers wait on."""

    priority: int
    seq: int
    method: str = field(compare=False)
    kwargs: dict[str, Any] = field(compare=False)
    channel: str | None = field(compare=False)
    future: asyncio.Future[dict[str, Any]] = field(compare=False)
    deadline: float = field(compare=False)
    merge_key: tuple[str, ...] | None = field(compare=False, default=None)
    attempts: int = field(compare=False, default=0)
    not_before: float = field(compare=False, default=0.0)
    last_problem: str = field(compare=False, default="")
    done: asyncio.Event = field(compare=False, default_factory=asyncio.Event)
    ticket: str = field(compare=False, default="")  # names the attempt in the shared budget's window

    @property
    def ordered(self) -> bool:
        """True when this call must not overtake earlier ones to its channel."""
        return self.method in ORDERED_METHODS and bool(self.channel)

    def settle(self, result: dict[str, Any] | None = None, error: BaseException | None = None) -> None:
        """Answer every caller once (later answers are ignored) and wake them."""
        if not self.future.done():
            if error is not None:
                self.future.set_exception(error)
                self.future.exception()  # a caller that was cancelled never reads it: no "never retrieved" noise
            else:
                self.future.set_result(result or {})
        self.done.set()


class Outbox:
    """Pending jobs, sorted by (priority, seq), and the channels that have a message in flight."""

    def __init__(self) -> None:
        self.pending: list[Job] = []
        self.channels_in_flight: Counter[str] = Counter()
        self._seq = itertools.count()

    def add(
        self,
        method: str,
        priority: int,
        kwargs: dict[str, Any],
        deadline: float,
        merge_key: tuple[str, ...] | None = None,
    ) -> Job:
        """Queue a call, or fold it into a waiting one with the same merge key; return the job to wait on."""
        if merge_key is not None:
            for job in self.pending:
                if job.merge_key == merge_key:
                    job.kwargs = kwargs
                    job.priority = min(job.priority, priority)
                    self.pending.sort()
                    return job
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        channel = kwargs.get("channel")
        job = Job(priority, next(self._seq), method, kwargs, channel, future, deadline, merge_key)
        self.requeue(job)
        return job

    def requeue(self, job: Job) -> None:
        """Put a job (back) in its place."""
        self.pending.append(job)
        self.pending.sort()

    def discard(self, job: Job) -> bool:
        """Take a job out of the queue; False when it was not waiting."""
        if job in self.pending:
            self.pending.remove(job)
            return True
        return False

    def overdue(self, now: float) -> list[Job]:
        """Remove and return the jobs whose deadline has passed."""
        late = [job for job in self.pending if job.deadline <= now]
        for job in late:
            self.pending.remove(job)
        return late

    def sent(self, job: Job) -> None:
        """The job leaves the queue for the network."""
        self.pending.remove(job)
        if job.ordered:
            self.channels_in_flight[str(job.channel)] += 1

    def returned(self, job: Job) -> None:
        """The job's attempt is over (answered, failed or to be retried)."""
        if job.ordered:
            key = str(job.channel)
            self.channels_in_flight[key] -= 1
            if self.channels_in_flight[key] <= 0:
                del self.channels_in_flight[key]

    def next_ready(self, limiter: RateLimiter, now: float) -> tuple[Job | None, float | None]:
        """The first job allowed to go now, else how long until one may (None: until something changes)."""
        held = set(self.channels_in_flight)
        soonest = math.inf
        for job in self.pending:
            soonest = min(soonest, job.deadline)
            if job.ordered and job.channel in held:
                continue
            ready = max(limiter.ready_at(job.method, job.channel, now), job.not_before)
            if ready <= now:
                return job, None
            soonest = min(soonest, ready)
            if job.ordered:
                held.add(str(job.channel))
        return None, None if soonest == math.inf else max(0.0, soonest - now)

    def why_waiting(self, job: Job, limiter: RateLimiter, now: float) -> str:
        """Why a job has not gone yet, for the error its caller gets."""
        if job.last_problem:
            return job.last_problem
        bucket = limiter.bucket(job.method, job.channel)
        if bucket.suspect or bucket.blocked_until > now:
            return f"never sent: {job.method} is held by Slack's Retry-After"
        if job.ordered and job.channel in self.channels_in_flight:
            return "never sent: an earlier message to the channel was still in flight"
        return "never sent: waiting for its turn in the outbox"
