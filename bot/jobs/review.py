"""What each dead letter's job is doing now, and clearing an entry without hiding work that still fails.

An entry in `rb:dead-letters` is a note about a job, not the job: the job is a durable timer (its id
is the entry's id) plus, for status-page writes and exports, a record. Clearing removes the note only.
Whether that is safe depends on the job:

- `failed`: a status-page write or export that gave up; nothing will run it again. Clearing is the
  operator saying it has been dealt with.
- `settled`: the job succeeded since (delivered, provisioned, done); the entry is stale.
- `stopped`: nothing will run it again and it did not succeed (its timer is gone, or its incident).
- `retrying`: its timer is armed and it is still failing. Clearing would only hide it until its next
  failure writes the entry again, so it is refused unless forced, and a forced clear says so.

A clear deletes the entry only while it is still the one that was read (a compare-and-delete), so a
failure recorded in between is never cleared unseen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.connections import Redis
from bot.connections import redis_call as _call
from bot.durable import DONE, FAILED, TIMER_KIND_PREFIX, DurableJobs, job_of_entry
from bot.errors import InvalidInput
from bot.escalation.timers import TimerStore
from bot.incidents.store import IncidentStore
from bot.jobs.deadletter import DeadLetter, DeadLetters, parse_entry
from bot.keys import Keys

DELIVER, PROVISION = "deliver", "provision"  # the kinds bot/escalation/deliveries.py and provision.py write


class JobState(StrEnum):
    """Where a dead letter's job stands now."""

    RETRYING = "retrying"
    FAILED = "failed"
    SETTLED = "settled"
    STOPPED = "stopped"


@dataclass(frozen=True)
class Reviewed:
    """One entry with its job's state, the next attempt when one is armed, and why."""

    entry: DeadLetter
    state: JobState
    next_attempt: datetime | None
    detail: str

    def to_json(self) -> dict[str, Any]:
        """The JSON object `runbookctl deadletters --json` prints for this entry."""
        e = self.entry
        return {
            "job_id": e.job_id,
            "kind": e.kind,
            "incident": e.incident_id,
            "attempts": e.attempts,
            "last_error": e.reason,
            "first_failure": e.since,
            "last_failure": e.last_failure,
            "state": self.state.value,
            "next_attempt": self.next_attempt.isoformat() if self.next_attempt else None,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Cleared:
    """The outcome of clearing one entry: whether it was removed, and what the operator must know."""

    job_id: str
    removed: bool
    state: JobState
    message: str
    still_failing: bool = False  # kept, or cleared by force, while the job keeps failing

    def to_json(self) -> dict[str, Any]:
        """The JSON object `runbookctl deadletters --clear … --json` prints."""
        return {
            "job_id": self.job_id,
            "cleared": self.removed,
            "state": self.state.value,
            "still_failing": self.still_failing,
            "message": self.message,
        }


class DeadLetterReview:
    """Lists the dead-letter set with each job's state, and clears entries safely."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self.dead_letters = DeadLetters(redis, keys)

    async def entries(self) -> list[Reviewed]:
        """Every entry, oldest first, with its job's state."""
        timers = await self._adopted_timers()
        return [await self._review(entry, timers) for entry in await self.dead_letters.list()]

    async def clear(self, job_id: str, force: bool = False) -> Cleared:
        """Remove one entry unless its job is still retrying (then only with `force`, and saying so)."""
        timers = await self._adopted_timers()
        raw = await self.dead_letters.get_raw(job_id)
        if raw is None:
            raise InvalidInput(f"no dead letter {job_id!r} under the key prefix {self.keys.prefix!r}")
        return await self._clear(raw, force, timers)

    async def clear_all(self, force: bool = False) -> list[Cleared]:
        """Clear every entry whose job is not retrying (every entry with `force`)."""
        timers = await self._adopted_timers()
        raw = await _call(self.redis.hgetall(self.keys.dead_letters()))
        return [await self._clear(str(value), force, timers) for _, value in sorted(raw.items())]

    async def _clear(self, raw: str, force: bool, timers: TimerStore) -> Cleared:
        reviewed = await self._review(parse_entry(raw), timers)
        job_id, state = reviewed.entry.job_id, reviewed.state
        if state is JobState.RETRYING and not force:
            note = f"kept: still failing and retrying ({reviewed.detail}); --force clears it"
            return Cleared(job_id, False, state, note, still_failing=True)
        if not await self.dead_letters.remove_if_unchanged(job_id, raw):
            still = await self.dead_letters.get(job_id)
            if still is None:
                return Cleared(job_id, False, state, "already gone (delivered or cleared meanwhile)")
            return Cleared(job_id, False, state, f"kept: it failed again while being cleared ({still.reason})", True)
        if state is JobState.RETRYING:
            note = f"cleared, but still failing and retrying ({reviewed.detail}): its next failure lists it again"
            return Cleared(job_id, True, state, note, still_failing=True)
        return Cleared(job_id, True, state, f"cleared ({state.value}: {reviewed.detail})")

    async def _adopted_timers(self) -> TimerStore:
        """The timer store, once entries an earlier version listed elsewhere are in the set (see DurableJobs)."""
        timers = await self._timers()
        await DurableJobs(self.redis, self.keys, timers).adopt_legacy_dead()
        return timers

    async def _timers(self) -> TimerStore:
        # Timer keys depend on the shard count the stored timers use, which the deployment wrote down.
        stored = await _call(self.redis.get(self.keys.timer_layout()))
        shards = int(stored) if stored else self.keys.timer_shards
        return TimerStore(self.redis, Keys(self.keys.prefix, timer_shards=shards))

    async def _review(self, entry: DeadLetter, timers: TimerStore) -> Reviewed:
        settled = await self._outcome(entry, timers)
        if settled is not None:
            return Reviewed(entry, settled[0], None, settled[1])
        # Every kind arms its retries as a timer whose id is the entry's id.
        timer = await timers.get(entry.job_id)
        if timer is not None:
            failures = timer.payload.get("failures", entry.attempts)
            return Reviewed(entry, JobState.RETRYING, timer.due_at, f"{failures} failures, next attempt armed")
        return Reviewed(entry, JobState.STOPPED, None, "no retry is armed and it never succeeded")

    async def _outcome(self, entry: DeadLetter, timers: TimerStore) -> tuple[JobState, str] | None:
        """The job's final state when it has one (settled or failed for good), else None."""
        if entry.kind == DELIVER:
            sent = await _call(self.redis.get(self.keys.delivery_sent(entry.incident_id, entry.job_id)))
            return (JobState.SETTLED, f"delivery {sent}") if sent else None
        if entry.kind == PROVISION:
            incident = await IncidentStore(self.redis, self.keys).get_incident(entry.incident_id)
            if incident is None:
                return JobState.STOPPED, "the incident is gone"
            return (JobState.SETTLED, "the channel exists") if incident.provisioned else None
        job_id = job_of_entry(entry.job_id, entry.incident_id)
        if entry.kind.startswith(TIMER_KIND_PREFIX) and job_id is not None:
            record = await DurableJobs(self.redis, self.keys, timers).get(entry.incident_id, job_id)
            if record is None:
                return JobState.STOPPED, "the job's record is gone"
            if record.state == FAILED:
                return JobState.FAILED, f"gave up after {record.attempts} attempts; nothing retries it"
            if record.state == DONE:
                return JobState.SETTLED, "done since"
        return None
