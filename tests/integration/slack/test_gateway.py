"""The gateway against the emulator on a hand-moved clock: minutes of Retry-After and deadlines in no time."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot import metrics
from bot.errors import UpstreamError
from bot.sandbox.emulator import SlackEmulator
from bot.slack.gateway import GatewayConfig, SlackGateway
from bot.slack.ratelimit import RateLimiter
from tests.manual_clock import ManualMonotonicClock

MakeGateway = Callable[..., Awaitable[SlackGateway]]


@pytest.fixture
async def emulator() -> AsyncIterator[SlackEmulator]:
    """A started emulator with the default workspace."""
    async with SlackEmulator() as emu:
        yield emu


@pytest.fixture
def clock() -> ManualMonotonicClock:
    """The gateway's clock; moves only when the test says so."""
    return ManualMonotonicClock()


@pytest.fixture
async def make_gateway(emulator: SlackEmulator, clock: ManualMonotonicClock) -> AsyncIterator[MakeGateway]:
    """Started gateways on the manual clock, with an unchanged AsyncWebClient without its own retries."""
    started: list[SlackGateway] = []

    async def make(limiter: RateLimiter | None = None, **config: Any) -> SlackGateway:
        client = AsyncWebClient(token=emulator.bot_token, base_url=emulator.api_url, retry_handlers=[])
        gateway = SlackGateway(
            client, limiter or RateLimiter(clock=clock.now), config=GatewayConfig(**config), clock=clock
        )
        await gateway.start()
        started.append(gateway)
        return gateway

    yield make
    for gateway in started:
        await gateway.stop(drain_timeout=0)


async def settle() -> None:
    """Let the event loop run the gateway's worker and the emulator's handlers for a moment."""
    await asyncio.sleep(0.15)


async def received(emulator: SlackEmulator, method: str, count: int) -> None:
    """Wait (real time, generous) until the emulator has seen `count` calls, and the gateway their answers."""
    await emulator.wait_until(lambda: len(emulator.calls(method)) >= count, 5, f"{count} {method} call(s)")
    await settle()


@pytest.mark.parametrize("method", ["usergroups.list", "bookmarks.add", "conversations.replies"])
async def test_retry_after_30_means_one_call_per_30_seconds_then_delivery(
    emulator: SlackEmulator, clock: ManualMonotonicClock, make_gateway: MakeGateway, method: str
) -> None:
    gateway = await make_gateway(deadline=600)
    channel = emulator.channel("incidents").id
    args = {
        "usergroups.list": {},
        "bookmarks.add": {"channel_id": channel, "title": "Runbook", "type": "link", "link": "https://example.com"},
        "conversations.replies": {"channel": channel, "ts": "1.000001"},
    }[method]
    await emulator.fault("ratelimit", methods=[method], retry_after=30)
    calls = [asyncio.create_task(gateway.call(method, **args)) for _ in range(2)]
    await received(emulator, method, 1)  # a tier-2 burst may send both at first, before any 429 is known
    for _ in range(3):  # Slack keeps saying "Retry-After: 30"
        sent = len(emulator.calls(method))
        clock.advance(29.5)
        await settle()
        assert len(emulator.calls(method)) == sent  # not before the window ends
        clock.advance(0.5)
        await received(emulator, method, sent + 1)
        assert len(emulator.calls(method)) == sent + 1  # one probe, not both queued calls
    await emulator.clear_faults()
    clock.advance(30)
    await received(emulator, method, 7)  # 2 at first, 3 probes, then both calls
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    expected_error = "thread_not_found" if method == "conversations.replies" else None
    for outcome in outcomes:
        if expected_error:
            assert isinstance(outcome, UpstreamError) and outcome.details["slack_error"] == expected_error
        else:
            assert isinstance(outcome, dict) and outcome["ok"]
    assert [c.status for c in emulator.calls(method)][:5] == [429] * 5


async def test_a_call_gives_up_after_its_attempts_with_a_clear_error(
    emulator: SlackEmulator, clock: ManualMonotonicClock, make_gateway: MakeGateway
) -> None:
    gateway = await make_gateway(max_attempts=3, deadline=600)
    await emulator.fault("ratelimit", methods=["usergroups.list"], retry_after=30)
    call = asyncio.create_task(gateway.call("usergroups.list"))
    for attempt in range(1, 4):
        await received(emulator, "usergroups.list", attempt)
        clock.advance(30)
    with pytest.raises(UpstreamError, match=r"rate limiting the bot.*after 3 attempt") as info:
        await asyncio.wait_for(call, 5)
    assert info.value.details["slack_error"] == "ratelimited"
    assert len(emulator.calls("usergroups.list")) == 3


async def test_a_retry_after_beyond_the_deadline_fails_at_once(
    emulator: SlackEmulator, make_gateway: MakeGateway
) -> None:
    gateway = await make_gateway(deadline=60)
    await emulator.fault("ratelimit", methods=["pins.add"], retry_after=3600)
    with pytest.raises(UpstreamError, match="Retry-After 3600 s, past the deadline"):
        await asyncio.wait_for(gateway.call("pins.add", channel="C1", timestamp="1.1"), 5)
    assert len(emulator.calls("pins.add")) == 1


async def test_a_refused_connection_is_retried_with_backoff(
    emulator: SlackEmulator, clock: ManualMonotonicClock, make_gateway: MakeGateway
) -> None:
    gateway = await make_gateway(connect_backoff=2.0)
    await emulator.fault("refuse")
    call = asyncio.create_task(gateway.call("auth.test"))
    await settle()
    await emulator.clear_faults()
    clock.advance(1.0)
    await settle()
    assert not call.done()  # still backing off (2 s)
    clock.advance(1.0)
    assert (await asyncio.wait_for(call, 5))["user_id"] == emulator.bot_user_id
    assert len(emulator.calls("auth.test")) == 1  # the refused try never reached Slack


async def test_a_dead_worker_is_restarted_with_a_log_line_and_a_metric(
    emulator: SlackEmulator, clock: ManualMonotonicClock, make_gateway: MakeGateway, caplog: pytest.LogCaptureFixture
) -> None:
    class BrokenOnce(RateLimiter):
        """A limiter whose first answer is a bug, as a crash in the worker would be."""

        broken = True

        def ready_at(self, method: str, channel: str | None, now: float | None = None) -> float:
            if self.broken:
                self.broken = False
                raise RuntimeError("bug in the outbox")
            return super().ready_at(method, channel, now)

    before = metrics.REGISTRY.get_sample_value("runbook_slack_outbox_restarts_total") or 0.0
    gateway = await make_gateway(BrokenOnce(clock=clock.now), restart_delay=0.5)
    with caplog.at_level(logging.ERROR, logger="bot.slack.gateway"):
        call = asyncio.create_task(gateway.post_message("#incidents", "still delivered"))
        await settle()
        assert gateway.restarts == 1 and not call.done()
        clock.advance(0.5)
        assert await asyncio.wait_for(call, 5)
    assert metrics.REGISTRY.get_sample_value("runbook_slack_outbox_restarts_total") == before + 1
    assert any("outbox worker died" in r.message and r.exc_info for r in caplog.records)
    assert emulator.messages("incidents")[-1].text == "still delivered"


async def test_callers_do_not_wait_forever_when_the_worker_is_gone(
    emulator: SlackEmulator, clock: ManualMonotonicClock, make_gateway: MakeGateway
) -> None:
    gateway = await make_gateway(deadline=30)
    await settle()
    assert gateway._supervisor is not None and gateway.worker is not None
    gateway._supervisor.cancel()
    gateway.worker.cancel()
    await settle()
    call = asyncio.create_task(gateway.post_message("#incidents", "nobody sends this"))
    await settle()
    clock.advance(30.5)
    await settle()
    assert not call.done()  # the deadline plus a grace second
    clock.advance(1)
    with pytest.raises(UpstreamError, match="deadline_exceeded"):
        await asyncio.wait_for(call, 5)
    assert gateway.depth == 0


async def test_a_call_waiting_behind_a_retry_after_fails_at_its_own_deadline(
    emulator: SlackEmulator, clock: ManualMonotonicClock, make_gateway: MakeGateway
) -> None:
    gateway = await make_gateway(deadline=600)
    await emulator.fault("ratelimit", methods=["bookmarks.add"], retry_after=30)
    channel = emulator.channel("incidents").id
    bookmark = {"channel_id": channel, "title": "Runbook", "type": "link", "link": "https://example.com"}
    first = asyncio.create_task(gateway.call("bookmarks.add", **bookmark))
    await received(emulator, "bookmarks.add", 1)
    cosmetic = asyncio.create_task(gateway.call("bookmarks.add", deadline_s=10, **bookmark))
    await settle()
    clock.advance(10)
    with pytest.raises(UpstreamError, match=r"deadline_exceeded.*held by Slack's Retry-After") as info:
        await asyncio.wait_for(cosmetic, 5)
    assert info.value.details["attempts"] == 0
    assert len(emulator.calls("bookmarks.add")) == 1 and not first.done()
    await emulator.clear_faults()
    clock.advance(20)
    assert (await asyncio.wait_for(first, 5))["ok"]


async def test_stopping_answers_a_call_in_flight_at_once_not_at_its_deadline(
    emulator: SlackEmulator, make_gateway: MakeGateway
) -> None:
    gateway = await make_gateway(deadline=300)
    gateway.history = deque(maxlen=100)  # records each attempt as it starts
    # Slack holds the request: the call is in flight when the gateway stops.
    await emulator.fault("latency", methods=["chat.update"], latency=600)
    call = asyncio.create_task(gateway.update_message("#incidents", "1.0", "held"))
    await emulator.wait_until(
        lambda: any(a.method == "chat.update" for a in gateway.history), 5, "the chat.update sent and held"
    )
    await gateway.stop(drain_timeout=0)
    # The caller hears now (its deadline is 300 s on a clock that never moves here).
    with pytest.raises(UpstreamError, match="cancelled"):
        await asyncio.wait_for(call, 5)
