"""Atlassian Statuspage end to end against a loopback server: one incident, updates in order, 1 req/s, no doubles."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from bot.connections import Redis
from bot.durable import DONE
from bot.incidents.models import Incident
from bot.keys import Keys
from bot.statuspage.atlassian import AtlassianStatuspage
from bot.statuspage.client import StatuspageClient
from bot.statuspage.models import PageStatus
from bot.statuspage.service import StatusPageService
from tests.integration.statuspage.conftest import CONFIG, Rig, eventually
from tests.integration.statuspage.fake_statuspage import API_KEY, PAGE_ID, FakeStatuspage

pytestmark = pytest.mark.slow


async def _service(rig: Rig, redis: Redis, keys: Keys, url: str, **client_args: object) -> StatusPageService:
    client = StatuspageClient(url, PAGE_ID, API_KEY, **client_args)  # type: ignore[arg-type]
    service = StatusPageService(
        redis, keys, rig.store, rig.jobs, {"atlassian": AtlassianStatuspage(client, redis, keys)}, CONFIG
    )
    service.register(rig.scheduler)
    await rig.scheduler.start()
    return service


async def _all_done(rig: Rig, incident: Incident, job_ids: list[str]) -> bool:
    records = [await rig.jobs.get(incident.id, j) for j in job_ids]
    return all(r is not None and r.state == DONE for r in records)


async def test_open_update_resolve_reach_statuspage_in_order_within_its_rate(
    rig: Rig, redis: Redis, keys: Keys, fake_statuspage: tuple[FakeStatuspage, str]
) -> None:
    fake, url = fake_statuspage
    service = await _service(rig, redis, keys, url)
    incident = await rig.store.create_incident("Checkout <b>down</b> & slow", service="checkout", severity="P1")

    await service.incident_opened(incident)
    # Submitted at once, before the first one ran: the chain keeps them in order.
    ids = await service.submit(incident, "u1", PageStatus.IDENTIFIED, "Bad deploy *rolled back*")
    ids += await service.submit(incident, "resolved-0", PageStatus.RESOLVED, None)
    await eventually(lambda: _all_done(rig, incident, ["sp-atlassian-open-0", *ids]), timeout=30)

    assert len(fake.incidents) == 1
    remote = next(iter(fake.incidents.values()))
    assert remote["name"] == "Checkout <b>down</b> & slow"
    assert remote["metadata"] == {"runbook_bot": {"incident": incident.id}}
    statuses = [u["status"] for u in reversed(remote["incident_updates"])]
    assert statuses == ["investigating", "identified", "resolved"]
    assert remote["incident_updates"][1]["body"] == "Bad deploy *rolled back*"
    assert fake.components["cmp-checkout"]["status"] == "operational"
    component_writes = [c for c in fake.accepted("PATCH") if "/components/" in c[1]]
    assert len(component_writes) == 3  # major_outage, major_outage, operational
    # The client kept to one request a second by itself: the server never had to refuse one.
    assert fake.refused == 0
    times = [c[2] for c in fake.calls]
    assert all(b - a >= 0.99 for a, b in itertools.pairwise(times))
    # A repeated submission is the same job: nothing new reaches Statuspage.
    before = len(fake.calls)
    await service.submit(incident, "u1", PageStatus.IDENTIFIED, "Bad deploy *rolled back*")
    await asyncio.sleep(0.3)
    assert len(fake.calls) == before


async def test_a_lost_response_is_retried_without_posting_twice(
    rig: Rig, redis: Redis, keys: Keys, fake_statuspage: tuple[FakeStatuspage, str]
) -> None:
    fake, url = fake_statuspage
    service = await _service(rig, redis, keys, url)
    incident = await rig.store.create_incident("API errors", service="checkout", severity="P1")

    fake.lose_responses = 1  # the create succeeds on the server, its answer never arrives
    await service.incident_opened(incident)
    await eventually(lambda: _all_done(rig, incident, ["sp-atlassian-open-0"]), timeout=30)
    assert len(fake.incidents) == 1
    assert len(fake.accepted("POST")) == 1
    record = await rig.jobs.get(incident.id, "sp-atlassian-open-0")
    assert record is not None and record.attempts == 2

    fake.lose_responses = 1  # now the update's answer is lost
    ids = await service.submit(incident, "u2", PageStatus.MONITORING, "Watching the error rate")
    await eventually(lambda: _all_done(rig, incident, ids), timeout=30)
    remote = next(iter(fake.incidents.values()))
    assert [u["status"] for u in reversed(remote["incident_updates"])] == ["investigating", "monitoring"]


async def test_429_from_a_shared_key_is_waited_out(
    rig: Rig, redis: Redis, keys: Keys, fake_statuspage: tuple[FakeStatuspage, str]
) -> None:
    fake, url = fake_statuspage
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(seconds)

    # No pacing of its own, as if another replica used the same key: Statuspage's 429s must hold it back.
    client = StatuspageClient(url, PAGE_ID, API_KEY, min_interval_s=0.0, sleep=sleep)
    try:
        for n in range(3):
            await client.set_component_status("cmp-checkout", "degraded_performance" if n % 2 else "major_outage")
    finally:
        await client.aclose()
    assert fake.refused >= 1
    assert waits and all(w == 1.0 for w in waits)
    assert len(fake.accepted("PATCH")) == 3
    assert fake.components["cmp-checkout"]["status"] == "major_outage"
