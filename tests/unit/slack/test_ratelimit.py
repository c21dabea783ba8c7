"""Rate-limit buckets: every method limited, one probe per Retry-After window, idle buckets dropped."""

from __future__ import annotations

import itertools
import math

from bot.slack.ratelimit import Outcome, RateLimiter
from tests.manual_clock import ManualMonotonicClock


def test_a_method_missing_from_the_table_is_tier_2() -> None:
    clock = ManualMonotonicClock(1000.0)
    limiter = RateLimiter(clock=clock.now)
    sent = 0
    while limiter.ready_at("team.someNewMethod", None) <= clock.now():
        limiter.take("team.someNewMethod", None)
        limiter.finished("team.someNewMethod", None, Outcome.ANSWERED)
        sent += 1
    assert sent == 2  # tier 2: 20 per minute with a burst of 2
    assert limiter.ready_at("team.someNewMethod", None) == clock.now() + 3.0


def test_retry_after_30_allows_one_probe_per_window_on_an_unknown_method() -> None:
    clock = ManualMonotonicClock(1000.0)
    limiter = RateLimiter(clock=clock.now)
    method = "usergroups.list.v2"
    probes = []
    for _ in range(4):  # Slack keeps answering 429 with Retry-After: 30
        ready = limiter.ready_at(method, None)
        clock.advance(max(0.0, ready - clock.now()))
        limiter.take(method, None)
        probes.append(clock.now())
        if len(probes) > 1:  # after a 429, nothing else goes until the probe is answered
            assert limiter.ready_at(method, None) == math.inf
        limiter.finished(method, None, Outcome.LIMITED, retry_after=30)
    assert [b - a for a, b in itertools.pairwise(probes)] == [30.0, 30.0, 30.0]
    clock.advance(30)
    limiter.take(method, None)
    limiter.finished(method, None, Outcome.ANSWERED)
    assert limiter.ready_at(method, None) <= clock.now() + 3.0  # the limit has lifted: back to the tier's pace


def test_a_call_without_an_answer_keeps_the_bucket_suspect() -> None:
    clock = ManualMonotonicClock(1000.0)
    limiter = RateLimiter(clock=clock.now)
    limiter.take("bookmarks.add", None)
    limiter.finished("bookmarks.add", None, Outcome.LIMITED, retry_after=30)
    clock.advance(30)
    limiter.take("bookmarks.add", None)
    limiter.finished("bookmarks.add", None, Outcome.UNKNOWN)
    assert limiter.bucket("bookmarks.add", None).suspect


def test_per_channel_buckets_are_dropped_when_idle() -> None:
    clock = ManualMonotonicClock(1000.0)
    limiter = RateLimiter(clock=clock.now)
    for n in range(10_000):
        channel = f"C{n:06d}"
        limiter.take("chat.postMessage", channel)
        limiter.finished("chat.postMessage", channel, Outcome.ANSWERED)
        clock.advance(0.01)
    # Only channels used in the last few seconds (a bucket refills in 3 s) can be non-idle.
    assert limiter.size <= 2 * 300 + 64


def test_a_blocked_or_busy_bucket_is_never_dropped() -> None:
    clock = ManualMonotonicClock(1000.0)
    limiter = RateLimiter(clock=clock.now)
    limiter.take("chat.postMessage", "CBLOCKED")
    limiter.finished("chat.postMessage", "CBLOCKED", Outcome.LIMITED, retry_after=600)
    limiter.take("chat.postMessage", "CBUSY")
    clock.advance(60)
    assert limiter.sweep() == 0
    assert limiter.ready_at("chat.postMessage", "CBLOCKED") == 1600.0
    limiter.finished("chat.postMessage", "CBUSY", Outcome.ANSWERED)
    assert limiter.sweep() == 1
