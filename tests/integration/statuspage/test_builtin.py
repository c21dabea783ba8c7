"""The built-in page through the service: what publishes itself, what resolves, 90 days of history, the feed route."""

from __future__ import annotations

from datetime import timedelta

import httpx
from aiohttp import web

from bot.connections import Redis
from bot.durable import DONE
from bot.keys import Keys
from bot.statuspage.builtin import BuiltinStatusPage
from bot.statuspage.models import PageStatus
from bot.statuspage.service import StatusPageService
from bot.statusweb import add_status_routes
from tests.conftest import Serve
from tests.integration.statuspage.conftest import CONFIG, Rig, eventually


async def _setup(rig: Rig, redis: Redis, keys: Keys) -> tuple[StatusPageService, BuiltinStatusPage]:
    page = BuiltinStatusPage(redis, keys, CONFIG)
    service = StatusPageService(redis, keys, rig.store, rig.jobs, {"builtin": page}, CONFIG)
    service.register(rig.scheduler)
    await rig.scheduler.start()
    return service, page


async def _done(rig: Rig, incident_id: str, job_id: str) -> bool:
    record = await rig.jobs.get(incident_id, job_id)
    return record is not None and record.state == DONE


async def test_only_configured_severities_publish_themselves_and_resolve_needs_a_shown_incident(
    rig: Rig, redis: Redis, keys: Keys
) -> None:
    service, page = await _setup(rig, redis, keys)
    quiet = await rig.store.create_incident("Slow search", service="checkout", severity="P3")
    loud = await rig.store.create_incident("Checkout down", service="checkout", severity="P1")
    await service.incident_opened(quiet)
    await service.incident_opened(loud)
    await eventually(lambda: _done(rig, loud.id, "sp-builtin-open-0"))
    assert await rig.jobs.get(quiet.id, "sp-builtin-open-0") is None
    await service.incident_ended(quiet)  # never shown: nothing to resolve
    assert not await service.is_published(quiet.id)

    snap = await page.snapshot(loud.triggered_at)
    assert [i.incident_id for i in snap.open_incidents] == [loud.id]
    assert [(c.id, s.value) for c, s in snap.components] == [("checkout", "major_outage")]

    # A published update shows the quiet one too, with its own text.
    await service.publish_update(quiet, "q1", PageStatus.IDENTIFIED, "Index rebuild")
    await eventually(lambda: _done(rig, quiet.id, "sp-builtin-q1"))
    await service.incident_ended(loud)
    await eventually(lambda: _done(rig, loud.id, "sp-builtin-resolved-0"))
    snap = await page.snapshot(loud.triggered_at)
    assert [(i.incident_id, i.status) for i in snap.open_incidents] == [(quiet.id, PageStatus.IDENTIFIED)]
    assert [i.incident_id for i in snap.history] == [loud.id]
    assert snap.history[0].updates[0].body == CONFIG.resolved_message
    # P3 degrades the component; the resolved P1 no longer counts.
    assert [(c.id, s.value) for c, s in snap.components] == [("checkout", "degraded_performance")]
    # After 90 days both fall off the page.
    later = await page.snapshot(loud.triggered_at + timedelta(days=91))
    assert later.open_incidents == () and later.history == ()


async def test_routes_serve_html_json_and_atom(rig: Rig, redis: Redis, keys: Keys, serve: Serve) -> None:
    service, page = await _setup(rig, redis, keys)
    incident = await rig.store.create_incident("Checkout <i>down</i>", service="checkout", severity="P1")
    await service.incident_opened(incident)
    await eventually(lambda: _done(rig, incident.id, "sp-builtin-open-0"))
    app = web.Application()
    add_status_routes(app, page, clock=lambda: incident.triggered_at)
    url = await serve(app)
    async with httpx.AsyncClient(base_url=url) as client:
        html = await client.get("/status")
        as_json = await client.get("/status.json")
        negotiated = await client.get("/status", headers={"Accept": "application/json"})
        feed = await client.get("/status/feed.atom")
    assert html.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in html.headers["content-security-policy"]
    assert "&lt;i&gt;down&lt;/i&gt;" in html.text and "<i>down" not in html.text
    assert as_json.json() == negotiated.json()
    assert as_json.json()["incidents"][0]["title"] == "Checkout <i>down</i>"
    assert feed.headers["content-type"].startswith("application/atom+xml")
    assert f"{url}/status#{incident.id}" in feed.text
