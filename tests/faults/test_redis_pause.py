"""Redis paused (CLIENT PAUSE ALL, or SIGSTOP) during a burst of webhooks to the running bot.

The acceptance figure is a 20 s pause. The pause here is 8 s: longer than every bound involved (the
1 s webhook deadline, the 5 s socket timeout, the 2 s pool wait in these settings), so calls time
out and writes are cut off exactly as in a 20 s pause, while the suite stays short.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from bot.connections import make_client
from bot.incidents.models import EventType
from bot.incidents.store import CLAIM_PREFIX, IncidentStore
from bot.keys import Keys
from bot.sandbox.stack import SANDBOX_WEBHOOK_TOKEN, SandboxStack, start_sandbox
from tests.faults._redis import RedisProcess, redis_process  # noqa: F401  (fixture)
from tests.integration.bot.conftest import RUNBOOKS, alertmanager_payload
from tests.manual_clock import eventually

PAUSE_S = 8.0
BURST = 60
PREFIX = "rbfault"
HEADERS = {"Authorization": f"Bearer {SANDBOX_WEBHOOK_TOKEN}", "Content-Type": "application/json"}


def burst_payload(n: int) -> dict[str, object]:
    """One alert group per webhook, matching no runbook (this test is about the store)."""
    payload = alertmanager_payload(group=f"g{n}", title=f"burst {n}")
    for alert in payload["alerts"]:  # type: ignore[attr-defined]
        alert["labels"]["alertname"] = "Burst"
    payload["groupKey"] = f'{{}}:{{alertname="Burst", group="g{n}"}}'
    return payload


@dataclass
class Answer:
    n: int
    status: int
    seconds: float
    retry_after: str | None


@dataclass
class Probe:
    """/readyz asked every 100 ms; each answer's status and latency."""

    answers: list[tuple[int, float, dict[str, object]]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


@pytest.fixture
async def stack(redis_process: RedisProcess, tmp_path: Path) -> AsyncIterator[SandboxStack]:  # noqa: F811
    started = await start_sandbox(
        redis_url=redis_process.url,
        redis_prefix=PREFIX,
        runbooks_path=RUNBOOKS,
        data_dir=tmp_path,
        log_format="text",
        redis_pool_timeout_s=2.0,
        provision_retry_s=2.0,
        slack_rate_scale=30.0,  # the bot's own Slack limiter, sped up so 60 channels open in seconds
    )
    yield started
    await started.stop()


async def post(client: httpx.AsyncClient, n: int) -> Answer:
    started = time.monotonic()
    response = await client.post("/alerts/alertmanager", content=json.dumps(burst_payload(n)), headers=HEADERS)
    return Answer(n, response.status_code, time.monotonic() - started, response.headers.get("Retry-After"))


async def post_until_taken(client: httpx.AsyncClient, n: int) -> Answer:
    """Before the pause: resend after a 503 as Alertmanager would (a loaded machine can slow the store past
    the webhook deadline even with Redis running); the answer that counts is the one that took it."""
    for _ in range(30):
        answer = await post(client, n)
        if answer.status != 503:
            return answer
        await asyncio.sleep(float(answer.retry_after or 1))
    return answer


def probe_readyz(base_url: str, probe: Probe, stop: threading.Event) -> None:
    """Ask /readyz every 100 ms from a thread of its own, as a kubelet would from outside: the time measured
    is the bot's answer, not also this test's turn on the event loop the in-process bot shares with it."""
    with httpx.Client(base_url=base_url, timeout=5) as client:
        while not stop.is_set():
            started = time.monotonic()
            try:
                response = client.get("/readyz")
                probe.answers.append((response.status_code, time.monotonic() - started, response.json()))
            except httpx.HTTPError as exc:
                probe.failures.append(repr(exc))
            stop.wait(0.1)


async def all_provisioned(url: str) -> bool:
    """Whether every incident of the burst has its channel."""
    client = make_client(url)
    try:
        incidents = await IncidentStore(client, Keys(PREFIX)).list_open_incidents()
        return len(incidents) == BURST and all(i.channel_id for i in incidents)
    finally:
        await client.aclose()


async def check_nothing_half_written(url: str) -> None:
    """Every group maps to one whole incident: record, OPENED and ALERT events, indexes; no orphans, no claims."""
    client = make_client(url)
    keys = Keys(PREFIX)
    store = IncidentStore(client, keys)
    try:
        incidents = await store.list_open_incidents()
        assert sorted(i.title for i in incidents) == sorted(f"burst {n}" for n in range(BURST))
        for incident in incidents:
            timeline = [e.type for e in await store.read_timeline(incident.id)]
            assert timeline.count(EventType.OPENED) == 1 and timeline.count(EventType.ALERT) == 1, incident.id
            assert incident.group_key is not None
            assert await client.get(keys.group(incident.group_key)) == incident.id
        records = [k async for k in client.scan_iter(match=f"{PREFIX}:{{INC-*}}:incident", count=1000)]
        assert len(records) == BURST, "an incident record exists that no group or index points to"
        owners = [await client.get(k) async for k in client.scan_iter(match=f"{PREFIX}:group:*", count=1000)]
        assert not [o for o in owners if o and o.startswith(CLAIM_PREFIX)], "a group claim was left behind"
    finally:
        await client.aclose()


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize("mode", ["client-pause", "sigstop"])
async def test_webhooks_answer_fast_and_lose_nothing_while_redis_is_paused(
    stack: SandboxStack,
    redis_process: RedisProcess,  # noqa: F811
    mode: str,
) -> None:
    probe, stop_probe = Probe(), threading.Event()
    prober = asyncio.create_task(asyncio.to_thread(probe_readyz, stack.webhook_url, probe, stop_probe))
    try:
        answers: list[Answer] = []
        async with httpx.AsyncClient(base_url=stack.webhook_url, timeout=30) as client:
            answers += await asyncio.gather(*(post_until_taken(client, n) for n in range(20)))
            assert {a.status for a in answers} == {202}
            if mode == "client-pause":
                redis_process.client_pause(PAUSE_S)
            else:
                redis_process.sigstop()
            paused_at = time.monotonic()
            try:
                # The rest of the burst arrives during the pause, one every 100 ms.
                async def late(n: int) -> Answer:
                    await asyncio.sleep((n - 20) * 0.1)
                    return await post(client, n)

                answers += await asyncio.gather(*(late(n) for n in range(20, BURST)))
            finally:
                if mode == "sigstop":
                    await asyncio.sleep(max(0.0, PAUSE_S - (time.monotonic() - paused_at)))
                    redis_process.sigcont()
            await asyncio.sleep(max(0.0, PAUSE_S - (time.monotonic() - paused_at)) + 0.5)

            # The promise is about the pause: every webhook sent while Redis is paused is answered within 2 s.
            # (The first 20, sent together before it, are set-up; on a loaded machine they may queue longer.)
            slow = [a for a in answers[20:] if a.seconds >= 2.0]
            assert not slow, f"answers slower than 2 s: {slow[:3]}"
            deferred = [a for a in answers if a.status == 503]
            assert all(a.retry_after for a in deferred) and deferred, "the pause should defer some webhooks"
            assert {a.status for a in answers} <= {202, 503}
            # The sender retries each deferred webhook after the pause, until it is accepted.
            for a in deferred:
                for _ in range(20):
                    again = await post(client, a.n)
                    if again.status == 202:
                        break
                    await asyncio.sleep(1.0)
                assert again.status == 202, f"webhook {a.n} still refused after the pause"
        await asyncio.sleep(1.0)
    finally:
        stop_probe.set()  # the thread must end whatever happened, or the loop's executor never shuts down
        await prober
    assert not probe.failures, probe.failures[:3]
    latencies = [seconds for _, seconds, _ in probe.answers]
    assert max(latencies) < 1.0, f"/readyz took {max(latencies):.2f}s"
    during = [body for status, _, body in probe.answers if status == 503]
    # Every "not ready" names its reason: the Redis check's own, or the overall bound when the loop lagged.
    assert during and all(body["reasons"] for body in during)
    assert any("redis" in body["reasons"] for body in during)  # type: ignore[operator]
    assert probe.answers[-1][0] == 200
    await check_nothing_half_written(redis_process.url)
    await eventually(lambda: all_provisioned(redis_process.url), limit_s=60)
