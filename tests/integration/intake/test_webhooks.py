"""Alert webhooks over real sockets into a real Redis: incidents open once, resolve, and refusals leave no trace."""

from __future__ import annotations

import json
from collections.abc import Callable

from bot.incidents.models import Status
from tests.integration.intake.conftest import AUTH, Intake

Payload = Callable[[str, str], bytes]
AM = "/alerts/alertmanager"


async def test_firing_opens_an_incident(intake: Intake, payload: Payload) -> None:
    response = await intake.client.post(AM, content=payload("alertmanager", "firing"), headers=AUTH)
    assert response.status_code == 202
    body = response.json()
    [result] = body["alerts"]
    assert result["result"] == "created" and result["fingerprint"] == "3f9c2a71be04d5e8"
    incident = await intake.store.get_incident_or_raise(result["incident"])
    assert incident.status is Status.TRIGGERED
    assert incident.service == "payment-service" and incident.severity.value == "P1"
    assert incident.group_key is not None and incident.group_key.startswith("alertmanager:{}/{team=")


async def test_redelivery_changes_nothing(intake: Intake, payload: Payload) -> None:
    first = await intake.client.post(AM, content=payload("alertmanager", "firing"), headers=AUTH)
    incident_id = first.json()["alerts"][0]["incident"]
    before_keys = sorted(await intake.keys_written())
    before = await intake.store.get_incident_or_raise(incident_id)
    timeline = await intake.store.read_timeline(incident_id)

    again = await intake.client.post(AM, content=payload("alertmanager", "firing"), headers=AUTH)
    assert again.status_code == 202
    assert again.json()["alerts"][0] == {**first.json()["alerts"][0], "result": "duplicate"}
    assert sorted(await intake.keys_written()) == before_keys
    after = await intake.store.get_incident_or_raise(incident_id)
    assert after.version == before.version
    assert len(await intake.store.read_timeline(incident_id)) == len(timeline)


async def test_resolved_resolves_the_incident(intake: Intake, payload: Payload) -> None:
    opened = await intake.client.post(AM, content=payload("alertmanager", "firing"), headers=AUTH)
    incident_id = opened.json()["alerts"][0]["incident"]
    resolved = await intake.client.post(AM, content=payload("alertmanager", "resolved"), headers=AUTH)
    assert resolved.status_code == 202
    assert resolved.json()["alerts"][0] == {
        "name": "PaymentServiceHighLatency",
        "fingerprint": "3f9c2a71be04d5e8",
        "status": "resolved",
        "incident": incident_id,
        "result": "recorded",
    }
    incident = await intake.store.get_incident_or_raise(incident_id)
    assert incident.status is Status.RESOLVED and incident.alerts_firing == 0


async def test_resolved_for_unknown_group_writes_nothing(intake: Intake, payload: Payload) -> None:
    response = await intake.client.post(AM, content=payload("alertmanager", "resolved"), headers=AUTH)
    assert response.status_code == 202
    assert response.json()["alerts"][0]["result"] == "ignored"
    assert response.json()["alerts"][0]["incident"] is None
    assert await intake.keys_written() == []


async def test_mixed_truncated_group_is_one_incident(intake: Intake, payload: Payload) -> None:
    response = await intake.client.post(AM, content=payload("alertmanager", "mixed_truncated"), headers=AUTH)
    body = response.json()
    assert [a["result"] for a in body["alerts"]] == ["created", "recorded"]
    assert body["truncated_alerts"] == 3
    ids = {a["incident"] for a in body["alerts"]}
    assert len(ids) == 1
    incident = await intake.store.get_incident_or_raise(ids.pop())
    assert (incident.alerts_firing, incident.alerts_resolved) == (1, 1)
    assert incident.status is Status.TRIGGERED


async def test_grafana_two_alerts_one_incident(intake: Intake, payload: Payload) -> None:
    response = await intake.client.post("/alerts/grafana", content=payload("grafana", "firing"), headers=AUTH)
    body = response.json()
    assert [a["result"] for a in body["alerts"]] == ["created", "recorded"]
    assert body["alerts"][0]["incident"] == body["alerts"][1]["incident"]


async def test_opsgenie_create_acknowledge_close(intake: Intake, payload: Payload) -> None:
    url = "/alerts/opsgenie"
    created = await intake.client.post(url, content=payload("opsgenie", "create"), headers=AUTH)
    incident_id = created.json()["alerts"][0]["incident"]
    acked = await intake.client.post(url, content=payload("opsgenie", "acknowledge"), headers=AUTH)
    assert acked.status_code == 202
    assert acked.json() == {"source": "opsgenie", "alerts": [], "acknowledgements": ["opsgenie:checkout-5xx"]}
    incident = await intake.store.get_incident_or_raise(incident_id)
    assert incident.status is Status.ACKNOWLEDGED and incident.acknowledged_by == "ada@example.com"
    again = await intake.client.post(url, content=payload("opsgenie", "acknowledge"), headers=AUTH)
    assert again.status_code == 202
    assert (await intake.store.get_incident_or_raise(incident_id)).version == incident.version
    closed = await intake.client.post(url, content=payload("opsgenie", "close"), headers=AUTH)
    assert closed.json()["alerts"][0]["result"] == "recorded"
    assert (await intake.store.get_incident_or_raise(incident_id)).status is Status.RESOLVED
    note = await intake.client.post(url, content=payload("opsgenie", "add_note"), headers=AUTH)
    assert note.json() == {"source": "opsgenie", "alerts": [], "ignored": ["AddNote"]}


async def test_datadog_and_generic_open_incidents(intake: Intake, payload: Payload) -> None:
    dd = await intake.client.post("/alerts/datadog", content=payload("datadog", "triggered"), headers=AUTH)
    gen = await intake.client.post("/alerts/generic", json=json.loads(payload("generic", "firing")), headers=AUTH)
    assert dd.json()["alerts"][0]["result"] == gen.json()["alerts"][0]["result"] == "created"
    recovered = await intake.client.post("/alerts/datadog", content=payload("datadog", "recovered"), headers=AUTH)
    incident = await intake.store.get_incident_or_raise(recovered.json()["alerts"][0]["incident"])
    assert incident.status is Status.RESOLVED
