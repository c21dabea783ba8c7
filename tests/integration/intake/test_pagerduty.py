"""PagerDuty v3 over real sockets: signature check, trigger, acknowledge, resolve."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from bot.incidents.models import Status
from tests.integration.intake.conftest import PD_SECRET, Intake

Payload = Callable[[str, str], bytes]
PD = "/alerts/pagerduty"


def signed(body: bytes, secret: str = PD_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-PagerDuty-Signature": f"v1=deadbeef,v1={digest}"}


async def test_signed_lifecycle(intake: Intake, payload: Payload) -> None:
    body = payload("pagerduty", "triggered")
    created = await intake.client.post(PD, content=body, headers=signed(body))
    assert created.status_code == 202
    incident_id = created.json()["alerts"][0]["incident"]

    ack = payload("pagerduty", "acknowledged")
    response = await intake.client.post(PD, content=ack, headers=signed(ack))
    assert response.json()["acknowledgements"] == ["pagerduty:Q2LB6S4GKVM3JZ"]
    incident = await intake.store.get_incident_or_raise(incident_id)
    assert incident.status is Status.ACKNOWLEDGED and incident.acknowledged_by == "Ada Lovelace"

    resolved = payload("pagerduty", "resolved")
    await intake.client.post(PD, content=resolved, headers=signed(resolved))
    assert (await intake.store.get_incident_or_raise(incident_id)).status is Status.RESOLVED


async def test_signature_over_other_bytes_is_401(intake: Intake, payload: Payload) -> None:
    body = payload("pagerduty", "triggered")
    response = await intake.client.post(PD, content=body + b"\n", headers=signed(body))
    assert response.status_code == 401
    wrong_secret = await intake.client.post(PD, content=body, headers=signed(body, "other"))
    assert wrong_secret.status_code == 401
    assert await intake.keys_written() == []


async def test_ping_is_accepted_and_writes_nothing(intake: Intake, payload: Payload) -> None:
    body = payload("pagerduty", "ping")
    response = await intake.client.post(PD, content=body, headers=signed(body))
    assert response.status_code == 202 and response.json()["ignored"] == ["pagey.ping"]
    assert await intake.keys_written() == []
