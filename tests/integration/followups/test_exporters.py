"""Each tracker exporter against its loopback server: one issue per follow-up, link written back, no doubles."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest

from bot.connections import Redis
from bot.durable import DONE, FAILED, DurableJobs
from bot.escalation.scheduler import SchedulerConfig, TimerScheduler
from bot.escalation.timers import TimerStore
from bot.followups.github import GitHubExporter
from bot.followups.jira import JiraExporter
from bot.followups.linear import LinearExporter
from bot.followups.models import TrackerExporter
from bot.followups.service import FollowUpService
from bot.followups.store import FollowUpStore
from bot.incidents.store import IncidentStore
from bot.jobs.backoff import Backoff
from bot.keys import Keys
from tests.conftest import Serve
from tests.integration.followups.fake_trackers import (
    GITHUB_TOKEN,
    JIRA_EMAIL,
    JIRA_TOKEN,
    LINEAR_KEY,
    FakeGitHub,
    FakeJira,
    FakeLinear,
    Tracker,
)
from tests.integration.statuspage.conftest import eventually

TEXT = "Add an alert on pool size; run `rm -rf /` never; <!channel> {{ x }} @octocat"


@dataclass
class Case:
    name: str
    fake: Callable[[], Tracker]
    exporter: Callable[[str], TrackerExporter]


CASES = [
    Case("github", FakeGitHub, lambda url: GitHubExporter(url, "acme/shop", GITHUB_TOKEN)),
    Case("jira", FakeJira, lambda url: JiraExporter(url, JIRA_EMAIL, JIRA_TOKEN, "OPS")),
    Case("linear", FakeLinear, lambda url: LinearExporter(url + "/graphql", LINEAR_KEY, "team-1")),
]


@dataclass
class Rig:
    fake: Tracker
    service: FollowUpService
    store: IncidentStore
    jobs: DurableJobs


@pytest.fixture(params=CASES, ids=[c.name for c in CASES])
async def rig(request: pytest.FixtureRequest, redis: Redis, keys: Keys, serve: Serve) -> AsyncIterator[Rig]:
    case: Case = request.param
    fake = case.fake()
    fake.url = await serve(fake.app())
    exporter = case.exporter(fake.url)
    timers = TimerStore(redis, keys)
    scheduler = TimerScheduler(timers, SchedulerConfig(tick_s=0.05))
    jobs = DurableJobs(redis, keys, timers, backoff=Backoff(base_s=0.05, jitter=0), max_attempts=4)
    store = IncidentStore(redis, keys)
    service = FollowUpService(FollowUpStore(redis, keys), store, jobs, exporter)
    service.register(scheduler)
    await scheduler.start()
    yield Rig(fake, service, store, jobs)
    await scheduler.stop()
    await exporter.aclose()  # type: ignore[attr-defined]


async def _exported(rig: Rig, incident_id: str, followup_id: str) -> bool:
    record = await rig.jobs.get(incident_id, f"fu-{followup_id}")
    return record is not None and record.state in (DONE, FAILED)


async def test_a_followup_becomes_one_tracker_issue_with_its_link_in_the_timeline(rig: Rig) -> None:
    incident = await rig.store.create_incident("DB pool exhausted", service="orders")
    item = await rig.service.record_followup_flow(incident.id, "U0ALICE001", TEXT, "U0BOB00001")
    await eventually(lambda: _exported(rig, incident.id, item.id))

    assert len(rig.fake.issues) == 1
    stored = await rig.service.followups.get_or_raise(incident.id, item.id)
    assert stored.tracker_url and stored.tracker_key and stored.tracker_url.startswith(rig.fake.url)
    timeline = await rig.store.read_timeline(incident.id)
    linked = [e for e in timeline if e.data.get("kind") == "followup_exported"]
    assert [e.data["url"] for e in linked] == [stored.tracker_url]
    assert any(e.data.get("kind") == "followup" and e.data["followup"] == item.id for e in timeline)
    issue = rig.fake.issues[0]
    title = issue.get("title") or issue.get("fields", {}).get("summary")
    assert title == TEXT  # sent as data, unchanged
    # Recording the same export again creates nothing.
    await rig.jobs.submit(incident.id, f"fu-{item.id}", "followup-export", {"followup": item.id})
    await eventually(lambda: _exported(rig, incident.id, item.id))
    assert len(rig.fake.issues) == 1


async def test_a_lost_answer_is_retried_and_finds_the_issue_it_made(rig: Rig) -> None:
    incident = await rig.store.create_incident("Cache stampede", service="catalog")
    rig.fake.lose_responses = 1
    item = await rig.service.record_followup_flow(incident.id, "U0ALICE001", "Add request coalescing", None)
    await eventually(lambda: _exported(rig, incident.id, item.id))

    record = await rig.jobs.get(incident.id, f"fu-{item.id}")
    assert record is not None and record.state == DONE and record.attempts == 2
    assert len(rig.fake.issues) == 1
    stored = await rig.service.followups.get_or_raise(incident.id, item.id)
    assert stored.tracker_url is not None


async def test_refused_credentials_give_up_at_once_and_are_listed(redis: Redis, keys: Keys, serve: Serve) -> None:
    fake = FakeGitHub()
    fake.url = await serve(fake.app())
    exporter = GitHubExporter(fake.url, "acme/shop", "wrong-token")
    timers = TimerStore(redis, keys)
    scheduler = TimerScheduler(timers, SchedulerConfig(tick_s=0.05))
    jobs = DurableJobs(redis, keys, timers, backoff=Backoff(base_s=0.05, jitter=0), max_attempts=4)
    store = IncidentStore(redis, keys)
    service = FollowUpService(FollowUpStore(redis, keys), store, jobs, exporter)
    service.register(scheduler)
    await scheduler.start()
    try:
        incident = await store.create_incident("Disk full", service="logs")
        item = await service.record_followup_flow(incident.id, "U0ALICE001", "Rotate logs hourly", None)
        rig = Rig(fake, service, store, jobs)
        await eventually(lambda: _exported(rig, incident.id, item.id))
    finally:
        await scheduler.stop()
        await exporter.aclose()
    record = await jobs.get(incident.id, f"fu-{item.id}")
    assert record is not None and record.state == FAILED and record.attempts == 1
    assert "401" in record.error
    assert await jobs.dead_jobs() == [(incident.id, f"fu-{item.id}")]
    assert fake.issues == []
