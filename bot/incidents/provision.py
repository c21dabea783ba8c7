"""Provisioning an incident's channel survives a dying replica: a lease while one worker does it, a timer after.

The replica that opens an incident provisions it at once under a lease it keeps renewing. A durable
safety timer, armed first, fires later on whichever replica claims it: if the incident is still not
provisioned and nobody holds the lease, that replica provisions it; if the lease is held, the worker
is alive and slow (say, queued behind Slack's rate limits), so the timer re-arms itself.

A failed attempt (Slack down) re-arms the timer after an exponential backoff with jitter, capped,
and keeps doing so until the channel exists or the incident is closed; past a threshold the
incident enters the dead-letter set (so /readyz says degraded) and leaves it once provisioned.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

from bot.alerts import utcnow
from bot.connections import Redis
from bot.escalation.timers import ArmRequest, TimerStore
from bot.jobs.backoff import Backoff
from bot.jobs.deadletter import DeadLetters
from bot.keys import Keys

log = logging.getLogger(__name__)

PROVISION_TIMER = "provision"
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


def provision_timer_id(incident_id: str) -> str:
    """The safety timer's id for one incident."""
    return f"provision:{incident_id}"


class ProvisionGuard:
    """The lease and the safety timer around provisioning one incident."""

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        timers: TimerStore,
        lease_s: float = 30.0,
        retry_after: timedelta = timedelta(seconds=60),
        backoff: Backoff | None = None,
        dead_letter_after: int = 5,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.timers = timers
        self.lease_s = lease_s
        self.retry_after = retry_after
        self.backoff = backoff or Backoff(base_s=1.0, cap_s=10.0)
        self.dead_letter_after = dead_letter_after
        self.dead_letters = DeadLetters(redis, keys)
        self.clock = clock
        self._release = redis.register_script(_RELEASE)
        self._renew = redis.register_script(_RENEW)

    def arm_request(self, incident_id: str) -> ArmRequest:
        """The safety timer, to be written together with the incident it guards."""
        due = self.clock() + self.retry_after
        return ArmRequest(provision_timer_id(incident_id), due, PROVISION_TIMER, {}, incident_id)

    async def arm(
        self,
        incident_id: str,
        delay: timedelta | None = None,
        failures: int = 0,
        first_failed_at: datetime | None = None,
    ) -> None:
        """Arm (or push back) the safety timer, by default `retry_after` from now."""
        due = self.clock() + (self.retry_after if delay is None else delay)
        payload: dict[str, object] = {"failures": failures} if failures else {}
        if first_failed_at is not None:
            payload["first_failed_at"] = first_failed_at.isoformat()
        await self.timers.arm(provision_timer_id(incident_id), due, PROVISION_TIMER, payload, incident_id=incident_id)

    async def failed(self, incident_id: str, failures: int, error: str) -> None:
        """An attempt failed: retry after a backoff; past the threshold, also show it as a dead letter."""
        now = self.clock()
        first = await self._first_failure(incident_id, failures) or now
        if failures >= self.dead_letter_after:
            fresh = await self.dead_letters.add(
                provision_timer_id(incident_id), incident_id, PROVISION_TIMER, error, now, failures, first
            )
            if fresh:
                log.error("provisioning dead-lettered; still retrying", extra={"incident": incident_id, "error": error})
        delay = timedelta(seconds=self.backoff.delay(failures))
        await self.arm(incident_id, delay, failures, first)

    async def _first_failure(self, incident_id: str, failures: int) -> datetime | None:
        # Only a repeated failure has an earlier one; its time rides in the safety timer's payload.
        if failures <= 1:
            return None
        timer = await self.timers.get(provision_timer_id(incident_id))
        first = timer.payload.get("first_failed_at") if timer is not None else None
        return datetime.fromisoformat(str(first)) if first else None

    async def done(self, incident_id: str) -> None:
        """Provisioned: the safety timer is no longer needed, nor any dead letter."""
        await self.timers.cancel(provision_timer_id(incident_id))
        await self.dead_letters.remove(provision_timer_id(incident_id))

    @contextlib.asynccontextmanager
    async def lease(self, incident_id: str) -> AsyncIterator[bool]:
        """Yield True when this worker holds the lease (renewed until the block ends), False when another does."""
        key = self.keys.provisioning(incident_id)
        token = uuid.uuid4().hex
        ms = int(self.lease_s * 1000)
        if not await self.redis.set(key, token, nx=True, px=ms):
            yield False
            return
        renewer = asyncio.create_task(self._keep(key, token, ms))
        try:
            yield True
        finally:
            renewer.cancel()
            # gather, not suppress(CancelledError): a cancel of this task while it waits must not be swallowed.
            await asyncio.gather(renewer, return_exceptions=True)
            await self._release(keys=[key], args=[token])

    async def _keep(self, key: str, token: str, ms: int) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            if not await self._renew(keys=[key], args=[token, ms]):
                log.warning("provisioning lease lost", extra={"key": key})
                return
