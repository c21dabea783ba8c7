"""Provisioning an incident's channel survives a dying replica: a lease while one worker does it, a timer after.

The replica that opens an incident provisions it at once under a lease it keeps renewing. A durable
safety timer, armed first, fires later on whichever replica claims it: if the incident is still not
provisioned and nobody holds the lease, that replica provisions it; if the lease is held, the worker
is alive and slow (say, queued behind Slack's rate limits), so the timer re-arms itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

from bot.alerts import utcnow
from bot.connections import Redis
from bot.escalation.timers import TimerStore
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
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.timers = timers
        self.lease_s = lease_s
        self.retry_after = retry_after
        self._release = redis.register_script(_RELEASE)
        self._renew = redis.register_script(_RENEW)

    async def arm(self, incident_id: str) -> None:
        """Arm (or push back) the safety timer."""
        due = utcnow() + self.retry_after
        await self.timers.arm(provision_timer_id(incident_id), due, PROVISION_TIMER, {}, incident_id=incident_id)

    async def done(self, incident_id: str) -> None:
        """Provisioned: the safety timer is no longer needed."""
        await self.timers.cancel(provision_timer_id(incident_id))

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
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
            await self._release(keys=[key], args=[token])

    async def _keep(self, key: str, token: str, ms: int) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            if not await self._renew(keys=[key], args=[token, ms]):
                log.warning("provisioning lease lost", extra={"key": key})
                return
