"""The outbox's choice of the next job: priority, per-channel order of messages, rate limits, deadlines."""

from __future__ import annotations

from bot.slack.outbox import Outbox, Priority
from bot.slack.ratelimit import Outcome, RateLimiter

NOW = 1000.0


def limiter() -> RateLimiter:
    """A limiter frozen at NOW."""
    return RateLimiter(clock=lambda: NOW)


async def test_a_message_waits_for_the_earlier_one_to_its_channel_but_not_other_channels() -> None:
    box, limits = Outbox(), limiter()
    first = box.add("chat.postMessage", Priority.NORMAL, {"channel": "C1", "text": "1"}, NOW + 60)
    second = box.add("chat.postMessage", Priority.NORMAL, {"channel": "C1", "text": "2"}, NOW + 60)
    other = box.add("chat.postMessage", Priority.NORMAL, {"channel": "C2", "text": "x"}, NOW + 60)
    assert box.next_ready(limits, NOW) == (first, None)
    box.sent(first)
    assert box.next_ready(limits, NOW)[0] is other  # C1 has a message in flight
    box.returned(first)
    assert box.next_ready(limits, NOW)[0] is second


async def test_a_rate_limited_message_holds_later_ones_to_its_channel() -> None:
    box, limits = Outbox(), limiter()
    first = box.add("chat.postMessage", Priority.NORMAL, {"channel": "C1", "text": "1"}, NOW + 60)
    box.add("chat.postMessage", Priority.NORMAL, {"channel": "C1", "text": "2"}, NOW + 60)
    box.sent(first)
    limits.take("chat.postMessage", "C1")
    limits.finished("chat.postMessage", "C1", Outcome.LIMITED, retry_after=5)
    box.returned(first)
    box.requeue(first)
    pin = box.add("pins.add", Priority.NORMAL, {"channel": "C1", "timestamp": "1.1"}, NOW + 60)
    assert box.next_ready(limits, NOW) == (pin, None)  # other methods on the channel are not held
    box.sent(pin)
    assert box.next_ready(limits, NOW) == (None, 5.0)
    assert box.next_ready(limits, NOW + 5)[0] is first


async def test_a_page_goes_before_normal_posts_and_edits_merge() -> None:
    box, limits = Outbox(), limiter()
    box.add("chat.update", Priority.COSMETIC, {"channel": "C1", "ts": "1.1", "text": "a"}, NOW + 60, ("u", "1.1"))
    box.add("chat.postMessage", Priority.NORMAL, {"channel": "C1", "text": "note"}, NOW + 60)
    page = box.add("chat.postMessage", Priority.PAGE, {"channel": "C1", "text": "page"}, NOW + 60)
    merged = box.add(
        "chat.update", Priority.NORMAL, {"channel": "C1", "ts": "1.1", "text": "b"}, NOW + 60, ("u", "1.1")
    )
    assert box.next_ready(limits, NOW)[0] is page
    assert len(box.pending) == 3 and merged.kwargs["text"] == "b" and merged.priority == Priority.NORMAL


async def test_overdue_jobs_leave_the_queue_and_the_wait_covers_the_next_deadline() -> None:
    box, limits = Outbox(), limiter()
    first = box.add("chat.postMessage", Priority.NORMAL, {"channel": "C1", "text": "1"}, NOW + 10)
    box.sent(first)
    late = box.add("chat.postMessage", Priority.NORMAL, {"channel": "C1", "text": "2"}, NOW + 10)
    assert box.next_ready(limits, NOW) == (None, 10.0)
    assert box.overdue(NOW + 10) == [late] and box.pending == []
