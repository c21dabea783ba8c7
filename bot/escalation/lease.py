"""A lease governs its handler: renew it well before it runs out, and cancel the handler when it cannot be.

A timer's claim is a lease in Redis that runs out at a wall-clock time; once it has, any replica may
requeue and claim the timer again. So the handler must be gone before then: a renewal that fails,
answers "not yours" or does not answer before the lease is about to run out cancels the handler and
waits for it. Every wait goes through an injected `sleep` and `clock`, so tests move time instead of
sleeping through it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.errors import BotError

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], datetime]
# Renew the lease from the given time on; True if still ours, False if another claimant holds it.
Renew = Callable[[datetime], Awaitable[bool]]


class LeaseLost(Exception):
    """The lease could not be kept; the handler was cancelled before it ran out."""


@dataclass(frozen=True)
class LeaseTerms:
    """How long a lease lasts, how often it is renewed, and how close to its end the handler is stopped."""

    lease_s: float
    renew_every_s: float
    margin_s: float

    @classmethod
    def for_lease(cls, lease_s: float, margin_s: float | None = None) -> LeaseTerms:
        """Renew every third of the lease; stop the handler with a quarter of it left (or `margin_s`)."""
        margin = lease_s / 4 if margin_s is None else margin_s
        if not 0 < margin < lease_s:
            raise ValueError("the lease margin must be positive and shorter than the lease")
        return cls(lease_s=lease_s, renew_every_s=lease_s / 3, margin_s=margin)


async def race(task: asyncio.Future[Any], seconds: float, sleep: Sleep, *others: asyncio.Future[Any]) -> bool:
    """Wait for `task` (or any of `others`) at most `seconds` on the injected clock; True if `task` is done."""
    if task.done() or any(o.done() for o in others):
        return task.done()
    timer = asyncio.ensure_future(sleep(max(0.0, seconds)))
    try:
        await asyncio.wait({task, timer, *others}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        timer.cancel()
    return task.done()


async def run_under_lease(
    work: Awaitable[None],
    renew: Renew,
    expires_at: datetime,
    terms: LeaseTerms,
    clock: Clock,
    sleep: Sleep,
) -> None:
    """Run `work` while the lease holds; raise LeaseLost (after cancelling it) when the lease cannot be kept."""
    task = asyncio.ensure_future(work)
    try:
        await _supervise(task, renew, expires_at, terms, clock, sleep)
    except LeaseLost:
        await _stop(task, terms, sleep)
        raise
    except BaseException:
        # Cancelled ourselves (shutdown): the handler goes with us.
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise
    task.result()


async def _supervise(
    task: asyncio.Future[None], renew: Renew, expires_at: datetime, terms: LeaseTerms, clock: Clock, sleep: Sleep
) -> None:
    every = timedelta(seconds=terms.renew_every_s)
    next_renewal = clock() + every
    while True:
        cutoff = expires_at - timedelta(seconds=terms.margin_s)
        wake = min(next_renewal, cutoff)
        if await race(task, (wake - clock()).total_seconds(), sleep):
            return
        sent_at = clock()
        if sent_at >= cutoff:
            raise LeaseLost(f"no renewal confirmed; {terms.margin_s:g} s of the lease left")
        renewal = asyncio.ensure_future(renew(sent_at))
        if not await race(renewal, (cutoff - sent_at).total_seconds(), sleep, task):
            renewal.cancel()
            await asyncio.gather(renewal, return_exceptions=True)
            if task.done():  # the handler finished while the renewal hung: its result stands
                return
            raise LeaseLost("the lease renewal did not answer before the lease ran low")
        try:
            held = renewal.result()
        except BotError as exc:
            # The lease may still be ours: try again soon, until the cutoff says otherwise.
            log.warning("lease renewal failed; retrying", extra={"error": str(exc)})
            next_renewal = clock() + every / 3
            continue
        if not held:
            raise LeaseLost("the lease went to another claimant")
        expires_at = sent_at + timedelta(seconds=terms.lease_s)
        next_renewal = sent_at + every


async def _stop(task: asyncio.Future[None], terms: LeaseTerms, sleep: Sleep) -> None:
    task.cancel()
    if await race(task, terms.margin_s, sleep):
        await asyncio.gather(task, return_exceptions=True)
    else:
        log.error("a timer handler ignored its cancellation after losing its lease; it may run twice")
