"""Redis SIGKILLed and restarted from its append-only file mid-incident: nothing the bot wrote is lost.

The incident is open with its channel, a level-1 page, evidence, a plan awaiting approval, the
approval's expiry timer and the level-2 page timer. Redis is killed without warning and started
again on the same port; the running bot reconnects on its own. Every incident, timeline event, audit
event, approval and timer from before is still there, the level-2 page due after the restart is
delivered, and new webhooks are accepted.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest

from bot.connections import Redis, make_client
from bot.keys import Keys
from bot.sandbox.stack import SandboxStack, start_sandbox
from tests.faults._redis import RedisProcess, redis_process  # noqa: F401  (fixture)
from tests.integration.bot.conftest import (
    FIXTURES,
    RUNBOOKS,
    ApiServer,
    alertmanager_payload,
    api_server,  # noqa: F401  (fixture)
    post_alert,
)
from tests.manual_clock import eventually

PREFIX = "rbfault"
KEYS = Keys(PREFIX)
BOB = "U0BOB00001"


@dataclass(frozen=True)
class Snapshot:
    """What the bot has written: hashes (incidents, approvals, timers), stream ids, and the key list."""

    hashes: dict[str, dict[str, str]]
    streams: dict[str, list[str]]
    keys: set[str]


async def snapshot(client: Redis) -> Snapshot:
    hashes: dict[str, dict[str, str]] = {}
    streams: dict[str, list[str]] = {}
    keys: set[str] = set()
    async for key in client.scan_iter(match=f"{PREFIX}:*", count=1000):
        kind = await client.type(key)
        if kind == "hash":
            fields = await client.hgetall(key)
            if not fields:
                continue  # deleted while we looked (a timer completing): not part of this snapshot
            hashes[key] = fields
        elif kind == "stream":
            streams[key] = [sid for sid, _ in await client.xrange(key)]
        elif kind == "none":
            continue
        keys.add(key)
    return Snapshot(hashes, streams, keys)


# Far longer than any setup on a loaded machine, so the kill always comes before level 2 falls due; the
# test then brings the surviving level-2 timer forward instead of sitting through the window.
LEVEL_1_WAIT_S = 600
ACCEPTED_WITHIN_S = 30.0  # a generous bound: the point is that the bot reconnects without a restart


async def post_until_accepted(stack: SandboxStack, payload: dict[str, object]) -> list[int]:
    """POST as Alertmanager does: a 503 carries Retry-After and is retried; returns the statuses seen."""
    statuses: list[int] = []
    deadline = time.monotonic() + ACCEPTED_WITHIN_S
    while True:
        response = await post_alert(stack, payload)
        statuses.append(response.status_code)
        if response.status_code != 503:
            return statuses
        assert response.headers.get("Retry-After"), "a 503 must say when to retry"
        assert time.monotonic() < deadline, f"not accepted within {ACCEPTED_WITHIN_S:.0f} s: {statuses}"
        await asyncio.sleep(0.5)  # shorter than Retry-After: the test has no reason to wait longer


@pytest.fixture
async def stack(redis_process: RedisProcess, tmp_path: Path) -> AsyncIterator[SandboxStack]:  # noqa: F811
    escalation = tmp_path / "escalation"
    escalation.mkdir()
    shutil.copy(FIXTURES / "escalation_slack" / "schedules.yaml", escalation / "schedules.yaml")
    (escalation / "policies.yaml").write_text(
        "default: api\npolicies:\n  api:\n    levels:\n"
        f"      - targets: [{{schedule: api-primary}}]\n        wait_minutes: {LEVEL_1_WAIT_S / 60}\n"
        "      - targets: [{schedule: api-secondary}]\n        wait_minutes: 1\n"
    )
    started = await start_sandbox(
        redis_url=redis_process.url,
        redis_prefix=PREFIX,
        runbooks_path=RUNBOOKS,
        escalation_path=escalation,
        data_dir=tmp_path,
        shell_allowlist=["echo"],
        log_format="text",
        approval_lifetime_s=300,
    )
    yield started
    await started.stop()


@pytest.mark.slow
@pytest.mark.timeout(150)
async def test_redis_killed_and_restarted_mid_incident_loses_nothing(
    stack: SandboxStack,
    redis_process: RedisProcess,  # noqa: F811
    api_server: ApiServer,  # noqa: F811
) -> None:
    emulator = stack.emulator
    payload = alertmanager_payload(health_url=api_server.url + "/health", notify_url=api_server.url + "/notify")
    assert (await post_alert(stack, payload)).status_code == 202
    # Waits are for conditions, with bounds generous enough for a loaded machine.
    channel = await emulator.wait_for_channel("inc-1-api-api-latency-high-api", timeout=ACCEPTED_WITHIN_S)
    await emulator.wait_for_message(channel.id, "Next safe step", timeout=ACCEPTED_WITHIN_S)
    await emulator.wait_for_message(channel.id, "Paging*", timeout=ACCEPTED_WITHIN_S)
    # The plan is posted before the evidence details: let provisioning finish (it clears its guard timer).
    await stack.bot.services.tasks.join(within=ACCEPTED_WITHIN_S)  # type: ignore[union-attr]
    client = make_client(redis_process.url)
    try:
        before = await snapshot(client)
        approvals = [k for k in before.hashes if k.startswith(f"{PREFIX}:{{INC-") and ":approval:" in k]
        timers = {k: v for k, v in before.hashes.items() if k.startswith(f"{PREFIX}:{{timers:") and ":timer:" in k}
        [level2] = [v for v in timers.values() if v["kind"] == "escalate"]
        assert approvals and float(level2["due"]) > time.time() + 60  # falls due long after the restart

        redis_process.restart()  # SIGKILL: no shutdown, only the append-only file

        # The bot reconnects by itself: a new alert group is accepted (a sender's retries allowed).
        second = alertmanager_payload(group="after-restart")
        statuses = await post_until_accepted(stack, second)
        assert statuses[-1] == 202 and set(statuses) <= {503, 202}, statuses
        # The level-2 page, armed before the kill and due after it, is delivered. Its stored record (id and
        # generation untouched) is made due now, rather than waiting out the policy's window in real time.
        shard = KEYS.timer_shard(level2["id"])
        assert await client.zadd(KEYS.timers_due(shard), {level2["id"]: time.time()}, xx=True, ch=True) == 1
        await emulator.wait_for_message(channel.id, f"Paging* <@{BOB}>", timeout=ACCEPTED_WITHIN_S)

        # ... and its timer is completed (the Slack post comes before the completion).
        await eventually(
            partial(client.exists, KEYS.timer_fired(level2["id"], level2["generation"])), ACCEPTED_WITHIN_S
        )

        after = await snapshot(client)
        for key, fields in before.hashes.items():
            if key in timers:
                # Still armed, or fired since (its arming's marker): never silently gone.
                marker = KEYS.timer_fired(fields["id"], fields["generation"])
                assert key in after.hashes or marker in after.keys, f"timer lost: {key}"
            elif key.endswith(":incident"):
                assert int(after.hashes[key]["version"]) >= int(fields["version"]), key
            else:
                assert key in after.hashes, f"lost: {key}"
        for key, ids in before.streams.items():
            assert set(ids) <= set(after.streams.get(key, [])), f"events lost from {key}"
        for approval in approvals:
            assert after.hashes[approval]["status"] == before.hashes[approval]["status"] == "pending", approval
    finally:
        await client.aclose()
