"""Durable side-effect jobs: recorded in Redis before they are tried, retried with backoff, done once per key.

A job is a record (`rb:{INC-n}:job:<id>`: state, attempts, result, last error) and a durable timer
(bot/escalation/timers.py) that runs it. `submit` writes the record only if the key is new, so
submitting twice, from two replicas or after a crash, does the work once. The runner counts the attempt
before calling the handler; a handler seeing `retrying` must first ask the destination whether an
earlier attempt got through (its response may have been lost). A failure re-arms the timer after an
exponential backoff (bot/jobs/backoff.py); past `max_attempts`, or on `Permanent`, the job is marked
failed and added to the one dead-letter set (bot/jobs/deadletter.py, entry id `job:<INC-n>:<id>`), so the
`runbook_bot_dead_letters` gauge and `/readyz` count it; `dead_jobs` lists them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.alerts import utcnow
from bot.connections import Redis
from bot.connections import redis_call as _call  # one RedisError translation for every store
from bot.errors import BotError
from bot.escalation.scheduler import FiredTimer, TimerScheduler
from bot.escalation.timers import TimerStore
from bot.jobs.backoff import Backoff
from bot.jobs.deadletter import DeadLetters
from bot.keys import Keys

log = logging.getLogger(__name__)

PENDING, DONE, FAILED = "pending", "done", "failed"
TIMER_KIND_PREFIX = "job:"
# How soon a job that waits for another one (NotYet) looks again.
NOT_YET_DELAY = timedelta(seconds=0.5)
# Status-page writes and exports wait longer between tries than deliveries: 2 s doubling to 5 min.
DEFAULT_BACKOFF = Backoff(base_s=2.0, cap_s=300.0, jitter=0.2)

# Creates the record only when the key is new; returns 'new' or the existing state.
CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('HGET', KEYS[1], 'state') end
redis.call('HSET', KEYS[1], 'state', 'pending', 'kind', ARGV[1], 'payload', ARGV[2], 'attempts', 0,
  'created', ARGV[3], 'result', '', 'error', '')
return 'new'
"""


class Permanent(BotError):
    """The job can never succeed as configured (refused credentials, unknown project): stop retrying."""


class NotYet(BotError):
    """The job must wait for another one (an earlier update of the same incident): try again soon, uncounted."""


@dataclass(frozen=True)
class JobRun:
    """What a handler receives: the job, its payload and which attempt this is (1 = the first)."""

    job_id: str
    kind: str
    incident_id: str
    payload: dict[str, Any]
    attempt: int

    @property
    def retrying(self) -> bool:
        """An earlier attempt started: it may have reached the destination before its answer was lost."""
        return self.attempt > 1


@dataclass(frozen=True)
class JobRecord:
    """One job as stored."""

    job_id: str
    incident_id: str
    kind: str
    state: str
    attempts: int
    result: str
    error: str
    payload: dict[str, Any]


JobHandler = Callable[[JobRun], Awaitable[str]]


class DurableJobs:
    """Submit jobs and run them from the timer scheduler, exactly once per key as far as the handler can tell."""

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        timers: TimerStore,
        clock: Callable[[], datetime] = utcnow,
        backoff: Backoff | None = None,
        max_attempts: int = 12,
        dead_letters: DeadLetters | None = None,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.timers = timers
        self.clock = clock
        self.backoff = backoff or DEFAULT_BACKOFF
        self.max_attempts = max_attempts
        self.dead_letters = dead_letters or DeadLetters(redis, keys)
        self._create = redis.register_script(CREATE)

    def register(self, scheduler: TimerScheduler, kind: str, handler: JobHandler) -> None:
        """Run jobs of `kind` with the coroutine function `handler` (it returns a short result note)."""

        async def run_job(timer: FiredTimer) -> None:
            await self._run(kind, handler, timer)

        scheduler.register(TIMER_KIND_PREFIX + kind, run_job)

    async def submit(self, incident_id: str, job_id: str, kind: str, payload: dict[str, Any]) -> bool:
        """Record and arm the job unless its key exists; True when this call created it."""
        key = self.keys.job(incident_id, job_id)
        state = await _call(
            self._create(keys=[key], args=[kind, json.dumps(payload, sort_keys=True), self.clock().isoformat()])
        )
        if state == "new":
            await self._arm(incident_id, job_id, kind, self.clock())
            return True
        if state == PENDING and await self.timers.get(_timer_id(incident_id, job_id)) is None:
            # Recorded by a process that died before arming it: arm it now.
            await self._arm(incident_id, job_id, kind, self.clock())
        return False

    async def get(self, incident_id: str, job_id: str) -> JobRecord | None:
        """The job's record, or None."""
        raw = await _call(self.redis.hgetall(self.keys.job(incident_id, job_id)))
        if not raw:
            return None
        return JobRecord(
            job_id=job_id,
            incident_id=incident_id,
            kind=raw.get("kind", ""),
            state=raw.get("state", ""),
            attempts=int(raw.get("attempts", 0)),
            result=raw.get("result", ""),
            error=raw.get("error", ""),
            payload=json.loads(raw.get("payload") or "{}"),
        )

    async def dead_jobs(self) -> list[tuple[str, str]]:
        """(incident id, job id) of every job that gave up, oldest first."""
        await self.adopt_legacy_dead()
        found: list[tuple[str, str]] = []
        for entry in await self.dead_letters.list():
            job_id = job_of_entry(entry.job_id, entry.incident_id)
            if (
                job_id is not None
                and entry.kind.startswith(TIMER_KIND_PREFIX)
                and (entry.incident_id, job_id) not in found
            ):
                found.append((entry.incident_id, job_id))
        return found

    async def adopt_legacy_dead(self) -> int:
        """Move the older `rb:jobs:dead` zset's entries into the shared dead-letter set; how many moved."""
        # Versions before the shared set listed jobs that gave up in that zset. Moving them makes the
        # gauge, /readyz and `runbookctl deadletters` (list and clear) see them like any other entry.
        # Add-then-remove and an add that keeps an existing entry's first failure make a repeat harmless.
        legacy = await _call(self.redis.zrange(self.keys.jobs_dead(), 0, -1, withscores=True))
        for member, score in legacy:
            incident_id, _, job_id = str(member).partition("|")
            record = await self.get(incident_id, job_id)
            at = datetime.fromtimestamp(float(score), UTC)
            await self.dead_letters.add(
                _timer_id(incident_id, job_id),
                incident_id,
                TIMER_KIND_PREFIX + (record.kind if record else "unknown"),
                (record.error if record else "") or "gave up (recorded by an earlier version)",
                at,
                record.attempts if record else 0,
                at,
            )
            await _call(self.redis.zrem(self.keys.jobs_dead(), member))
        return len(legacy)

    async def _arm(self, incident_id: str, job_id: str, kind: str, at: datetime) -> None:
        payload = {"job": job_id}
        await self.timers.arm(_timer_id(incident_id, job_id), at, TIMER_KIND_PREFIX + kind, payload, incident_id)

    async def _run(self, kind: str, handler: JobHandler, timer: FiredTimer) -> None:
        incident_id, job_id = timer.incident_id or "", str(timer.payload["job"])
        key = self.keys.job(incident_id, job_id)
        record = await self.get(incident_id, job_id)
        if record is None or record.state != PENDING:
            return  # done (or given up) by an earlier run: a repeated timer does nothing
        attempt = int(await _call(self.redis.hincrby(key, "attempts", 1)))
        run = JobRun(job_id, kind, incident_id, record.payload, attempt)
        try:
            result = await handler(run)
        except Permanent as exc:
            await self._give_up(run, str(exc))
        except NotYet:
            await _call(self.redis.hincrby(key, "attempts", -1))
            await self._arm(incident_id, job_id, kind, self.clock() + NOT_YET_DELAY)
        except Exception as exc:
            log.warning("job failed", extra={"job": job_id, "incident": incident_id, "attempt": attempt}, exc_info=exc)
            if attempt >= self.max_attempts:
                await self._give_up(run, f"{type(exc).__name__}: {exc}")
                return
            await _call(self.redis.hset(key, "error", f"{type(exc).__name__}: {exc}"[:500]))
            # The first failure's time, for the dead-letter entry should the job give up later.
            await _call(self.redis.hsetnx(key, "first_failed_at", self.clock().isoformat()))
            delay = timedelta(seconds=self.backoff.delay(attempt))
            await self._arm(incident_id, job_id, kind, self.clock() + delay)
        else:
            await _call(self.redis.hset(key, mapping={"state": DONE, "result": result[:500], "error": ""}))

    async def _give_up(self, run: JobRun, error: str) -> None:
        log.error("job gave up", extra={"job": run.job_id, "incident": run.incident_id, "error": error})
        key = self.keys.job(run.incident_id, run.job_id)
        await _call(self.redis.hset(key, mapping={"state": FAILED, "error": error[:500]}))
        # The same set as undelivered pages, so the gauge and /readyz show a failed write or export too;
        # the timer id names the job uniquely across incidents.
        entry_id = _timer_id(run.incident_id, run.job_id)
        now = self.clock()
        first = await _call(self.redis.hget(key, "first_failed_at"))
        await self.dead_letters.add(
            entry_id,
            run.incident_id,
            TIMER_KIND_PREFIX + run.kind,
            error,
            now,
            run.attempt,
            datetime.fromisoformat(str(first)) if first else now,
        )


def _timer_id(incident_id: str, job_id: str) -> str:
    return f"{TIMER_KIND_PREFIX}{incident_id}:{job_id}"


def job_of_entry(entry_id: str, incident_id: str) -> str | None:
    """The job id behind a dead-letter entry id `job:<INC-n>:<job id>`, or None when it is not a job's."""
    prefix = f"{TIMER_KIND_PREFIX}{incident_id}:"
    return entry_id.removeprefix(prefix) if entry_id.startswith(prefix) else None
