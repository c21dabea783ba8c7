"""A severity change re-sets the impact of a published incident on both pages, with no public update."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest

from bot.alerts import Severity
from bot.connections import Redis
from bot.durable import DONE
from bot.incidents.changes import change_severity_flow
from bot.incidents.models import Incident
from bot.keys import Keys
from bot.statuspage.atlassian import AtlassianStatuspage
from bot.statuspage.builtin import BuiltinStatusPage
from bot.statuspage.client import StatuspageClient
from bot.statuspage.models import PageStatus
from bot.statuspage.service import IMPACT_EVENT, IMPACT_SET_EVENT, SHOWN_FIELD, StatusPageBackend, StatusPageService
from tests.integration.statuspage.conftest import CONFIG, Rig, eventually
from tests.integration.statuspage.fake_statuspage import API_KEY, PAGE_ID, FakeStatuspage

pytestmark = pytest.mark.slow
ALICE = "U01ALICE"


async def _setup(
    rig: Rig, redis: Redis, keys: Keys, url: str
) -> tuple[StatusPageService, BuiltinStatusPage, StatuspageClient]:
    client = StatuspageClient(url, PAGE_ID, API_KEY)
    page = BuiltinStatusPage(redis, keys, CONFIG)
    backends: dict[str, StatusPageBackend] = {"atlassian": AtlassianStatuspage(client, redis, keys), "builtin": page}
    service = StatusPageService(redis, keys, rig.store, rig.jobs, backends, CONFIG)
    service.register(rig.scheduler)
    await rig.scheduler.start()
    return service, page, client


async def _done(rig: Rig, incident: Incident, job_ids: list[str]) -> bool:
    records = [await rig.jobs.get(incident.id, j) for j in job_ids]
    return all(r is not None and r.state == DONE for r in records)


async def _change(rig: Rig, service: StatusPageService, incident_id: str, severity: Severity) -> tuple[str, Incident]:
    change = await change_severity_flow(rig.store, incident_id, severity, ALICE)
    assert change.old is not None
    return await service.severity_changed(change.incident, Severity(change.old), ALICE), change.incident


async def _events(rig: Rig, incident_id: str, kind: str) -> list[dict[str, Any]]:
    return [e.data for e in await rig.store.read_timeline(incident_id) if e.data.get("kind") == kind]


async def test_a_published_incident_takes_the_new_impact_without_a_public_update(
    rig: Rig, redis: Redis, keys: Keys, fake_statuspage: tuple[FakeStatuspage, str]
) -> None:
    fake, url = fake_statuspage
    service, page, client = await _setup(rig, redis, keys, url)
    try:
        incident = await rig.store.create_incident("Checkout errors", service="checkout", severity="P2")
        ids = await service.submit(incident, "u1", PageStatus.IDENTIFIED, "Bad deploy")
        await eventually(lambda: _done(rig, incident, ids), timeout=30)
        remote = next(iter(fake.incidents.values()))
        assert remote["impact"] == "major" and fake.components["cmp-checkout"]["status"] == "partial_outage"

        fake.lose_responses = 1  # the impact PATCH lands, its answer is lost: the retry must add nothing
        note, changed = await _change(rig, service, incident.id, Severity.P1)
        assert note == "status page: impact critical, components major_outage"
        jobs = [f"sp-atlassian-impact-v{changed.version}", f"sp-builtin-impact-v{changed.version}"]
        await eventually(lambda: _done(rig, incident, jobs), timeout=30)

        assert len(fake.incidents) == 1 and len(fake.accepted("POST")) == 1
        assert remote["impact"] == "critical" and fake.components["cmp-checkout"]["status"] == "major_outage"
        assert [u["status"] for u in remote["incident_updates"]] == ["identified"]  # no public update
        impact_writes = [w for w in fake.incident_writes if w[0] == "PATCH"]
        assert impact_writes and all(set(w[2]) == {"impact_override", "deliver_notifications"} for w in impact_writes)
        record = await rig.jobs.get(incident.id, jobs[0])
        assert record is not None and record.attempts == 2
        assert fake.refused == 0  # the same 1 request/second pacing as every write
        assert all(b - a >= 0.99 for a, b in itertools.pairwise(c[2] for c in fake.calls))

        snap = await page.snapshot(incident.triggered_at)
        assert [(i.severity, len(i.updates)) for i in snap.open_incidents] == [(Severity.P1, 1)]
        assert [(c.id, s.value) for c, s in snap.components] == [("checkout", "major_outage")]

        [asked] = await _events(rig, incident.id, IMPACT_EVENT)
        assert asked == {
            "kind": IMPACT_EVENT,
            "old": "P2",
            "new": "P1",
            "sent": True,
            "impact": "critical",
            "components": "major_outage",
            "jobs": jobs,
        }
        applied = await _events(rig, incident.id, IMPACT_SET_EVENT)
        assert sorted(e["backend"] for e in applied) == ["atlassian", "builtin"]

        # Submitting the same change again (a retried command) is the same jobs: nothing new reaches Statuspage.
        before = len(fake.calls)
        await service.severity_changed(changed, Severity.P2, ALICE)
        await asyncio.sleep(0.3)
        assert len(fake.calls) == before and len(await _events(rig, incident.id, IMPACT_SET_EVENT)) == 2

        # A published update carries the current impact too, mending one a lost change left behind.
        remote["impact"] = "major"
        ids = await service.submit(incident, "u2", PageStatus.MONITORING, "Recovering")
        await eventually(lambda: _done(rig, incident, ids), timeout=30)
        assert remote["impact"] == "critical" and [u["status"] for u in remote["incident_updates"]] == [
            "monitoring",
            "identified",
        ]
    finally:
        await client.aclose()


async def test_never_published_or_resolved_on_the_page_leaves_the_page_alone(
    rig: Rig, redis: Redis, keys: Keys, fake_statuspage: tuple[FakeStatuspage, str]
) -> None:
    fake, url = fake_statuspage
    service, page, client = await _setup(rig, redis, keys, url)
    try:
        quiet = await rig.store.create_incident("Slow search", service="checkout", severity="P3")
        note, _ = await _change(rig, service, quiet.id, Severity.P1)
        assert note == "status page not changed: never published"
        assert [(e["sent"], e["reason"]) for e in await _events(rig, quiet.id, IMPACT_EVENT)] == [
            (False, "never published")
        ]
        assert not await service.is_published(quiet.id)
        assert (await page.snapshot(quiet.triggered_at)).open_incidents == ()

        loud = await rig.store.create_incident("Checkout down", service="checkout", severity="P1")
        await service.incident_opened(loud)
        await service.incident_ended(loud)
        await eventually(lambda: _done(rig, loud, ["sp-atlassian-resolved-0", "sp-builtin-resolved-0"]), timeout=30)
        calls = len(fake.calls)
        note, _ = await _change(rig, service, loud.id, Severity.P3)
        assert note == "status page not changed: the status page shows it resolved"
        assert len(fake.calls) == calls and fake.components["cmp-checkout"]["status"] == "operational"
        # A record from before the shown status was kept: the backends' last jobs (a resolve) tell instead.
        await redis.hdel(keys.status_page(loud.id), SHOWN_FIELD)
        note, _ = await _change(rig, service, loud.id, Severity.P2)
        assert note == "status page not changed: the status page shows it resolved"
    finally:
        await client.aclose()
