"""A repeated pager delivery sends the very same event, so PagerDuty (dedup_key) and Opsgenie (alias) merge it.

The retry after a crash or a lost answer may come much later: marked late, after the incident was
acknowledged, its channel made or its severity changed. None of that may reach the event: the body of
every attempt must be byte-identical, or at least identical in what the pager deduplicates on.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.alerts import Severity
from bot.connections import Redis
from bot.escalation.deliveries import plan_deliveries
from bot.escalation.policy import PageTarget, TargetKind
from bot.incidents.models import Incident, Status
from bot.incidents.store import IncidentStore
from bot.keys import Keys
from bot.settings import load_settings
from bot.slack.paging import SlackPager
from tests.conftest import Serve

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


async def recorder(serve: Serve, bodies: list[bytes], answer: dict[str, Any]) -> str:
    """A loopback pager API that records every request body and answers 202 with `answer`."""

    async def take(request: web.Request) -> web.Response:
        bodies.append(await request.read())
        return web.json_response(answer, status=202)

    app = web.Application()
    app.router.add_post("/{tail:.*}", take)
    return await serve(app)


def attempts_of(incident: Incident) -> list[tuple[Incident, bool]]:
    """The first attempt, then retries as they may come: late, acknowledged, with a channel, re-rated."""
    later = incident.model_copy(deep=True)
    later.status = Status.ACKNOWLEDGED
    later.channel_id = "C0INCIDENT"
    later.severity = Severity.P1 if incident.severity is not Severity.P1 else Severity.P3
    return [(incident, False), (incident, True), (later, True)]


async def test_every_attempt_sends_the_same_event(redis: Redis, keys: Keys, serve: Serve) -> None:
    pd_bodies: list[bytes] = []
    og_bodies: list[bytes] = []
    pd_url = await recorder(serve, pd_bodies, {"status": "success", "message": "Event processed", "dedup_key": "x"})
    og_url = await recorder(serve, og_bodies, {"result": "Request will be processed", "requestId": "r1"})
    settings = load_settings(
        slack_bot_token="xoxb-test",
        slack_app_token="xapp-test",
        pagerduty_events_url=pd_url + "/v2/enqueue",
        pagerduty_routing_key="R0UTINGKEY",
        opsgenie_api_url=og_url + "/v2/alerts",
        opsgenie_api_key="genie",
    )
    store = IncidentStore(redis, keys)
    pager = SlackPager(None, store, settings)  # type: ignore[arg-type]  # pager events never touch Slack
    incident = await store.create_incident("checkout errors", service="checkout")
    targets = [PageTarget(TargetKind.PAGER, "pagerduty"), PageTarget(TargetKind.PAGER, "opsgenie")]
    pd_event, og_event, _post = plan_deliveries(incident.id, "r1-000", 2, targets, "level 2", T0)
    for fresh, late in attempts_of(incident):
        assert await pager.deliver(pd_event, fresh, late) == "pagerduty accepted"
        assert await pager.deliver(og_event, fresh, late) == "opsgenie accepted"

    assert len(pd_bodies) == 3 and len(set(pd_bodies)) == 1, [json.loads(b) for b in pd_bodies]
    event = json.loads(pd_bodies[0])
    assert (event["event_action"], event["dedup_key"]) == ("trigger", incident.id)
    assert event["payload"]["summary"] == f"{incident.id} checkout errors"
    assert len(og_bodies) == 3 and len(set(og_bodies)) == 1, [json.loads(b) for b in og_bodies]
    alert = json.loads(og_bodies[0])
    assert (alert["alias"], alert["message"]) == (incident.id, f"{incident.id} checkout errors")
