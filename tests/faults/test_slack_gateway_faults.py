"""The gateway when its worker dies, when Slack hangs, refuses connections or answers 500: nobody waits forever."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot import metrics
from bot.errors import UpstreamError
from bot.sandbox.emulator import SlackEmulator
from tests.faults._slack import MakeGateway, make_gateway, slack, texts

__all__ = ["make_gateway", "slack"]  # fixtures, imported explicitly


def restarts() -> float:
    """runbook_slack_outbox_restarts_total as /metrics shows it."""
    return metrics.REGISTRY.get_sample_value("runbook_slack_outbox_restarts_total") or 0.0


@pytest.mark.slow
async def test_a_worker_that_dies_mid_burst_is_restarted_and_every_caller_is_served(
    slack: SlackEmulator, make_gateway: MakeGateway
) -> None:
    gateway = await make_gateway(restart_delay=0.2)
    channel = slack.channel("incidents").id
    await slack.fault("ratelimit", methods=["chat.postMessage"], retry_after=1, seconds=1)
    expected = [f"step {i}" for i in range(8)]
    posts = [asyncio.create_task(gateway.post_message(channel, text)) for text in expected]
    await slack.wait_until(lambda: slack.ratelimited_count >= 1, 5, "a 429")
    before = restarts()
    assert gateway.worker is not None
    gateway.worker.cancel()  # the worker dies while calls wait behind a Retry-After
    await asyncio.wait_for(asyncio.gather(*posts), 30)
    assert texts(slack, "incidents")[-8:] == expected
    assert gateway.restarts == 1 and restarts() == before + 1
    assert gateway.worker is not None and not gateway.worker.done()


@pytest.mark.slow
async def test_a_hung_slack_hits_the_call_deadline_with_a_clear_error(
    slack: SlackEmulator, make_gateway: MakeGateway
) -> None:
    gateway = await make_gateway(attempt_timeout=1.0, deadline=5.0)
    incidents = slack.channel("incidents").id
    await slack.fault("latency", methods=["chat.postMessage"], latency=120)
    started = time.monotonic()
    hung = asyncio.create_task(gateway.post_message(incidents, "into the void"))
    behind = asyncio.create_task(gateway.post_message(incidents, "after the void"))
    assert (await gateway.call("auth.test"))["ok"]  # other methods are served while one hangs
    await asyncio.wait({hung}, timeout=10)
    await slack.clear_faults()  # at once, so the post queued behind is not held as long
    with pytest.raises(UpstreamError, match=r"chat.postMessage failed \(timeout\).*no answer within 1 s") as info:
        await hung
    assert info.value.details["slack_error"] == "timeout"
    assert time.monotonic() - started < 5  # one attempt timeout, generously
    assert await asyncio.wait_for(behind, 10)  # the next post to the channel goes once the first gave up
    assert texts(slack, "incidents")[-1:] == ["after the void"]


@pytest.mark.slow
async def test_posts_queued_while_slack_refuses_connections_are_delivered_once_after(
    slack: SlackEmulator, make_gateway: MakeGateway
) -> None:
    gateway = await make_gateway(connect_backoff=0.5, max_attempts=10, deadline=30)
    channel = slack.channel("incidents").id
    await slack.fault("refuse", seconds=3)
    expected = [f"while down {i}" for i in range(5)]
    posts = [asyncio.create_task(gateway.post_message(channel, text)) for text in expected]
    await asyncio.wait_for(asyncio.gather(*posts), 30)
    assert texts(slack, "incidents")[-5:] == expected
    # A refused connection never reaches Slack, so nothing is posted twice (a 429 from pacing may be retried).
    delivered = [c.args["text"] for c in slack.calls("chat.postMessage") if c.status == 200]
    assert delivered == expected


@pytest.mark.slow
async def test_a_500_is_not_retried_without_end(slack: SlackEmulator, make_gateway: MakeGateway) -> None:
    gateway = await make_gateway()
    await slack.fault("error", methods=["conversations.create"], status=500)
    with pytest.raises(UpstreamError, match="internal_error") as info:
        await asyncio.wait_for(gateway.create_channel("inc-9-db"), 20)
    assert info.value.details["slack_error"] == "internal_error"
    # slack-sdk's server-error handler retries twice; the gateway does not add more (Slack may have acted).
    assert [c.status for c in slack.calls("conversations.create")] == [500, 500, 500]
