"""run_under_lease on a manual clock: the handler is cancelled before its lease can run out."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import StoreError
from bot.escalation.lease import LeaseLost, LeaseTerms, run_under_lease
from tests.manual_clock import ManualClock

T0 = datetime(2026, 3, 30, 12, tzinfo=UTC)
TERMS = LeaseTerms.for_lease(12.0)  # renew every 4 s, cancel with 3 s left


class Work:
    """A handler that runs until released or cancelled, noting when."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.release = asyncio.Event()
        self.cancelled_at: datetime | None = None
        self.done = False

    async def run(self) -> None:
        try:
            await self.release.wait()
            self.done = True
        except asyncio.CancelledError:
            self.cancelled_at = self.clock.now()
            raise


class Renewals:
    """Answers renewals as the test says: 'ok', 'lost', 'error' or 'hang'; records when each was asked."""

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.asked: list[datetime] = []

    async def renew(self, now: datetime) -> bool:
        self.asked.append(now)
        if self.answer == "error":
            raise StoreError("redis: Timeout reading from socket")
        if self.answer == "hang":
            await asyncio.Event().wait()
        return self.answer == "ok"


async def start(answer: str) -> tuple[ManualClock, Work, Renewals, asyncio.Task[None]]:
    clock = ManualClock(T0)
    work, renewals = Work(clock), Renewals(answer)
    expires = T0 + timedelta(seconds=TERMS.lease_s)
    task = asyncio.ensure_future(run_under_lease(work.run(), renewals.renew, expires, TERMS, clock.now, clock.sleep))
    await clock.advance(0)
    return clock, work, renewals, task


async def test_renewals_keep_the_handler_running_past_many_leases() -> None:
    clock, work, renewals, task = await start("ok")
    await clock.advance(100)
    assert not task.done() and work.cancelled_at is None
    assert renewals.asked == [T0 + timedelta(seconds=4 * n) for n in range(1, 26)]
    work.release.set()
    await task
    assert work.done


async def test_a_hung_renewal_cancels_the_handler_with_the_margin_left() -> None:
    clock, work, renewals, task = await start("hang")
    await clock.advance(30)
    with pytest.raises(LeaseLost, match="did not answer"):
        await task
    assert renewals.asked == [T0 + timedelta(seconds=4)]
    assert work.cancelled_at == T0 + timedelta(seconds=TERMS.lease_s - TERMS.margin_s)


async def test_a_handler_that_finishes_during_a_hung_renewal_keeps_its_result() -> None:
    clock, work, renewals, task = await start("hang")
    await clock.advance(5)  # the renewal asked at 4 s hangs
    work.release.set()
    await task
    assert work.done and work.cancelled_at is None and renewals.asked == [T0 + timedelta(seconds=4)]


async def test_failing_renewals_are_retried_then_the_handler_is_cancelled_in_time() -> None:
    clock, work, renewals, task = await start("error")
    await clock.advance(30)
    with pytest.raises(LeaseLost, match="no renewal confirmed"):
        await task
    assert len(renewals.asked) > 2 and renewals.asked[0] == T0 + timedelta(seconds=4)
    assert all(at < T0 + timedelta(seconds=9) for at in renewals.asked)
    assert work.cancelled_at == T0 + timedelta(seconds=9)


async def test_a_refused_renewal_cancels_the_handler_at_once() -> None:
    clock, work, renewals, task = await start("lost")
    await clock.advance(30)
    with pytest.raises(LeaseLost, match="another claimant"):
        await task
    assert renewals.asked == [T0 + timedelta(seconds=4)] and work.cancelled_at == T0 + timedelta(seconds=4)


async def test_a_claim_already_past_its_cutoff_never_lets_the_handler_wait() -> None:
    clock = ManualClock(T0)
    work, renewals = Work(clock), Renewals("ok")
    late = T0 + timedelta(seconds=TERMS.margin_s)  # as if the claim's reply came back a lease late
    task = asyncio.ensure_future(run_under_lease(work.run(), renewals.renew, late, TERMS, clock.now, clock.sleep))
    await clock.advance(0)
    with pytest.raises(LeaseLost):
        await task
    assert work.cancelled_at == T0 and renewals.asked == []


async def test_handler_errors_pass_through_and_cancelling_the_runner_cancels_the_handler() -> None:
    clock = ManualClock(T0)

    async def broken() -> None:
        raise RuntimeError("pager down")

    expires = T0 + timedelta(seconds=12)
    with pytest.raises(RuntimeError, match="pager down"):
        await run_under_lease(broken(), Renewals("ok").renew, expires, TERMS, clock.now, clock.sleep)
    _, work, _, task = await start("ok")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert work.cancelled_at == T0


def test_terms_refuse_a_margin_as_long_as_the_lease() -> None:
    assert LeaseTerms.for_lease(10) == LeaseTerms(lease_s=10, renew_every_s=10 / 3, margin_s=2.5)
    with pytest.raises(ValueError):
        LeaseTerms.for_lease(10, margin_s=10)
