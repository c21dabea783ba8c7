"""Alert storms under Slack's rate tiers, slash commands over Socket Mode, rejected webhooks leaving no trace."""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.connections import Redis
from bot.incidents.models import Status
from bot.keys import Keys
from bot.sandbox.stack import SANDBOX_WEBHOOK_TOKEN, SandboxStack, start_sandbox
from tests.integration.bot.conftest import (
    RUNBOOKS,
    alertmanager_payload,
    deliver_like_alertmanager,
    eventually,
    post_alert,
)

# Every scenario here runs over Socket Mode and again over HTTP with signed requests.
pytestmark = pytest.mark.usefixtures("slack_mode")

RATE_SCALE = 30.0
# From a 429 reaching the bot to its hold being in force for every sender (one Redis write on a loaded machine).
HOLD_GRACE_S = 0.25


@pytest.fixture
async def limited_stack(redis: Redis, redis_url: str, keys: Keys, tmp_path: Path) -> AsyncIterator[SandboxStack]:
    """The emulator enforces the tiers (sped up 30 times); the bot's own limiter is set looser, so 429s happen."""
    started = await start_sandbox(
        redis_url=redis_url,
        redis_prefix=keys.prefix,
        runbooks_path=RUNBOOKS,
        data_dir=tmp_path,
        rate_limits=True,
        rate_scale=RATE_SCALE,
        slack_rate_scale=RATE_SCALE * 2,
        log_format="text",
    )
    yield started
    await started.stop()


@pytest.fixture
async def tier_stack(redis: Redis, redis_url: str, keys: Keys, tmp_path: Path) -> AsyncIterator[SandboxStack]:
    """The emulator enforces the tiers (sped up 30 times) and the bot keeps to the same tiers, in Redis."""
    started = await start_sandbox(
        redis_url=redis_url,
        redis_prefix=keys.prefix,
        runbooks_path=RUNBOOKS,
        data_dir=tmp_path,
        rate_limits=True,
        rate_scale=RATE_SCALE,
        log_format="text",
    )
    yield started
    await started.stop()


async def storm(stack: SandboxStack) -> float:
    """100 new alert groups at once; returns how long the webhooks took to be accepted."""
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=stack.webhook_url, timeout=30) as client:
        headers = {"Authorization": f"Bearer {SANDBOX_WEBHOOK_TOKEN}", "Content-Type": "application/json"}
        responses = await asyncio.gather(
            *(deliver_like_alertmanager(client, "/alerts/alertmanager", storm_payload(n), headers) for n in range(100))
        )
    assert [r.status_code for r in responses] == [202] * 100
    return time.monotonic() - started


def storm_payload(n: int) -> dict[str, object]:
    payload = alertmanager_payload(group=f"g{n}", title=f"load test {n}")
    for alert in payload["alerts"]:  # type: ignore[attr-defined]
        alert["labels"]["alertname"] = "LoadTest"  # no runbook: this test is about channels
    payload["groupKey"] = f'{{}}:{{alertname="LoadTest", group="g{n}"}}'
    return payload


@pytest.mark.slow
@pytest.mark.timeout(300)
# Webhooks in, Web API calls out: nothing here comes from Slack, so the delivery mode makes no difference.
@pytest.mark.parametrize("slack_mode", ["socket"], indirect=True)
async def test_100_groups_in_a_second_under_rate_tiers(limited_stack: SandboxStack) -> None:
    emulator = limited_stack.emulator
    gateway = limited_stack.bot.gateway
    assert gateway is not None
    gateway.history = deque(maxlen=10_000)  # every attempt on the bot's own clock
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=limited_stack.webhook_url, timeout=30) as client:
        headers = {"Authorization": f"Bearer {SANDBOX_WEBHOOK_TOKEN}", "Content-Type": "application/json"}
        responses = await asyncio.gather(
            *(deliver_like_alertmanager(client, "/alerts/alertmanager", storm_payload(n), headers) for n in range(100))
        )
    accepted_in = time.monotonic() - started
    assert [r.status_code for r in responses] == [202] * 100
    # Generous: the 202 never waits on Slack (creating the 100 channels takes far longer under the tiers).
    assert accepted_in < 20, f"webhooks took {accepted_in:.1f}s to be accepted"

    services = limited_stack.bot.services
    assert services is not None
    await services.tasks.join(within=120)
    total = time.monotonic() - started
    channels = [c for c in emulator.channels() if c.name.startswith("inc-")]
    assert len(channels) == 100 and len({c.name for c in channels}) == 100
    incidents = await services.store.list_open_incidents()
    assert len(incidents) == 100
    assert all(i.channel_id and i.header_ts and i.status is Status.TRIGGERED for i in incidents)

    calls = emulator.calls()
    limited = [c for c in calls if c.status == 429]
    assert emulator.ratelimited_count == len(limited) > 0, "the looser bot limiter should have met some 429s"
    # Every 429 was honoured: once the bot had taken the answer in, it started no call of that method until
    # the Retry-After had passed. (Calls already in flight, or already past the limiter while the answer was
    # being read and the hold written to the shared budget, may reach Slack just after it: HOLD_GRACE_S.)
    attempts = list(gateway.history)
    answered_429 = [a for a in attempts if a.status == "limited"]
    assert len(answered_429) == len(limited)
    for seen in answered_429:
        if seen.method == "chat.postMessage":
            continue  # limited per channel; other channels may go on
        assert seen.answered_at is not None
        taken_in = seen.answered_at + HOLD_GRACE_S
        started_after = [a.sent_at for a in attempts if a.method == seen.method and a.sent_at > taken_in]
        assert all(t >= seen.answered_at + seen.retry_after for t in started_after), (seen, started_after[:3])
    creates = [c for c in calls if c.method == "conversations.create" and c.ok]
    ideal = (100 - 2) / (20 * RATE_SCALE / 60)  # tier 2 with a burst of 2
    print(
        f"\n100 incidents: webhooks accepted in {accepted_in:.2f}s, Slack work done in {total:.1f}s; "
        f"conversations.create tier allows {ideal:.1f}s → ratio {total / ideal:.2f}; "
        f"{len(limited)} 429s honoured; {len(creates)} channels"
    )
    assert len(creates) == 100


async def test_slash_commands_round_trip_over_socket_mode(stack: SandboxStack) -> None:
    emulator = stack.emulator
    listed = await emulator.driver.slash_command("alice", "incidents", "list")
    ack = await listed.acked(timeout=5)
    assert ack.latency < 3.0
    reply = await emulator.wait_for_ephemeral("alice", "No open incidents", timeout=5)
    assert reply is not None

    opened = await emulator.driver.slash_command(
        "alice", "incidents", 'new "checkout is down" --severity P1 --service checkout'
    )
    ack = await opened.acked(timeout=5)
    assert ack.latency < 3.0
    channel = await emulator.wait_for_channel("inc-1-checkout-checkout-is-down", timeout=10)
    await emulator.wait_for_message(channel.id, "INC-1", timeout=10)

    await emulator.driver.join("bob", channel.id)  # a member of the incident channel is a responder
    acked = await emulator.driver.slash_command("bob", channel.id, "ack")
    assert (await acked.acked(timeout=5)).latency < 3.0
    await emulator.wait_for_ephemeral("bob", "INC-1 acknowledged", timeout=5)
    store = stack.bot.services.store  # type: ignore[union-attr]
    incident = await store.get_incident_or_raise("INC-1")
    assert incident.status is Status.ACKNOWLEDGED and incident.acknowledged_by == "U0BOB00001"

    refused = await emulator.driver.slash_command("bob", channel.id, "close")
    await refused.acked(timeout=5)
    await emulator.wait_for_ephemeral("bob", "access rule `close`", timeout=5)  # alice declared it: her command
    bad = await emulator.driver.slash_command("alice", channel.id, "close")
    await bad.acked(timeout=5)
    await emulator.wait_for_ephemeral("alice", "cannot move from acknowledged to closed", timeout=5)

    helped = await emulator.driver.slash_command("carol", "incidents", "help")
    await helped.acked(timeout=5)
    help_reply = await emulator.wait_for_ephemeral("carol", "/incident ack", timeout=5)
    assert help_reply is not None


async def test_rejected_webhooks_leave_no_trace_in_slack_or_redis(
    stack: SandboxStack, redis: Redis, keys: Keys
) -> None:
    emulator = stack.emulator
    before = len(emulator.calls())
    # What the bot wrote at start (the timer layout it checked) is not a trace of the webhooks.
    at_start = [k async for k in redis.scan_iter(match=keys.pattern())]
    assert at_start == [keys.timer_layout()]
    async with httpx.AsyncClient(base_url=stack.webhook_url) as client:
        body = json.dumps(alertmanager_payload())
        unauth = await client.post("/alerts/alertmanager", content=body, headers={"Content-Type": "application/json"})
        assert unauth.status_code == 401
        headers = {"Authorization": f"Bearer {SANDBOX_WEBHOOK_TOKEN}", "Content-Type": "application/json"}
        broken = alertmanager_payload()
        del broken["alerts"][0]["labels"]  # type: ignore[index]
        malformed = await client.post("/alerts/alertmanager", content=json.dumps(broken), headers=headers)
        assert malformed.status_code == 400 and "alerts.0.labels" in malformed.text
        huge = await client.post("/alerts/alertmanager", content=b"{" + b" " * 2_000_000 + b"}", headers=headers)
        assert huge.status_code == 413
    assert len(emulator.calls()) == before
    assert [k async for k in redis.scan_iter(match=keys.pattern())] == at_start
    ok = await post_alert(stack, alertmanager_payload(title="after the rejects"))
    assert ok.status_code == 202


async def test_postmortem_command_posts_the_draft(stack: SandboxStack) -> None:
    emulator = stack.emulator
    # Generous waits (each ends as soon as its answer is there): the suite runs four workers, maybe beside other
    # work, and `update` answers once its post is in the channel, behind that channel's one-per-second pacing.
    wait = 60
    opened = await emulator.driver.slash_command("alice", "incidents", 'new "queue backlog" --service jobs')
    await opened.acked(timeout=wait)
    channel = await emulator.wait_for_channel("inc-1-jobs-queue-backlog", timeout=wait)
    # The channel exists in Slack a moment before the bot has bound it to INC-1; a command in between is
    # (rightly) told it is not in an incident channel. Wait for the binding, as a person joining would.
    services = stack.bot.services
    assert services is not None

    async def bound() -> bool:
        return (await services.store.get_incident_or_raise("INC-1")).channel_id == channel.id

    await eventually(bound, timeout=wait)
    for text, reply in (("ack", "acknowledged"), ("update drained the queue", "Update"), ("resolve", "resolved")):
        before = len(emulator.ephemerals("alice"))
        delivery = await emulator.driver.slash_command("alice", channel.id, text)
        await delivery.acked(timeout=wait)
        # This command's own reply: a new ephemeral, not an earlier one that happens to match.
        await emulator.wait_until(lambda n=before: len(emulator.ephemerals("alice")) > n or None, wait, text)
        assert reply in (emulator.ephemerals("alice")[before].text or ""), emulator.ephemerals("alice")[before:]
    delivery = await emulator.driver.slash_command("alice", channel.id, "postmortem")
    await delivery.acked(timeout=wait)
    await emulator.wait_for_message(channel.id, "Post-mortem draft for INC-1", timeout=wait)
    canvas = emulator.workspace.documents.channel_canvas(channel.id)
    assert canvas is not None and canvas.markdown.startswith("# Post-mortem draft: INC-1 queue backlog")
    assert "Time to resolve" in canvas.markdown and "drained the queue" in canvas.markdown


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_100_groups_lose_nothing_and_meet_no_429(tier_stack: SandboxStack) -> None:
    emulator = tier_stack.emulator
    services = tier_stack.bot.services
    assert services is not None and tier_stack.bot.gateway is not None and tier_stack.bot.gateway.budget is not None
    started = time.monotonic()
    accepted_in = await storm(tier_stack)
    await services.tasks.join(within=120)
    total = time.monotonic() - started
    incidents = await services.store.list_open_incidents()
    assert len(incidents) == 100  # nothing lost
    assert all(i.channel_id and i.header_ts and i.status is Status.TRIGGERED for i in incidents)
    assert len({c.name for c in emulator.channels() if c.name.startswith("inc-")}) == 100
    # None on an idle machine. The budget leaves JITTER_S (50 ms) for a call to reach Slack later than granted;
    # a machine loaded far past its cores can delay a few calls more, as a slow network would with real Slack,
    # and the 429 those meet is then honoured (the limited_stack test checks how). More than a few is a bug.
    limited = [(c.method, c.at) for c in emulator.calls() if c.status == 429]
    assert emulator.ratelimited_count <= 5, limited[:5]
    # conversations.create is tier 2: 20 a minute, here 10 a second. At that rate 100 channels take 10 s; Slack's
    # window also lets the first 20 go at once, so the least the tier allows is 4 full windows, 8 s.
    tier_rate = 20 * RATE_SCALE / 60
    fraction = (100 / tier_rate) / total
    print(
        f"\n100 groups, bot on the same tiers: accepted in {accepted_in:.2f}s, Slack work done in {total:.2f}s: "
        f"{fraction:.2f} of the tier's rate ({100 / total:.1f}/s against {tier_rate:.0f}/s); "
        f"{8.0 / total:.2f} of the window's least time (8.0 s); {len(limited)} 429s"
    )
    # The rate is a figure, not a check: 0.96-1.02 on an idle 2-core machine, 0.48-0.70 with four test workers
    # beside a CPU hog. bench/storm.py holds the 0.95 target (1.10 measured, against its same-run baseline).
