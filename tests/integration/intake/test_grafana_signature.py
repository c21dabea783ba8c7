"""Grafana's HMAC signature over real sockets: a signed body opens an incident; a bad one writes nothing."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable

from tests.integration.intake.conftest import GRAFANA_SECRET, Intake

Payload = Callable[[str, str], bytes]
GRAFANA = "/alerts/grafana"


def signed(body: bytes, timestamp: str | None = None, secret: str = GRAFANA_SECRET) -> dict[str, str]:
    """Headers as Grafana's webhook contact point sends them with an HMAC secret (and a timestamp header)."""
    message = body if timestamp is None else timestamp.encode() + b":" + body
    headers = {
        "Content-Type": "application/json",
        "X-Grafana-Alerting-Signature": hmac.new(secret.encode(), message, hashlib.sha256).hexdigest(),
    }
    if timestamp is not None:
        headers["X-Grafana-Alerting-Signature-Timestamp"] = timestamp
    return headers


async def test_signed_body_is_accepted(intake: Intake, payload: Payload) -> None:
    body = payload("grafana", "firing")
    response = await intake.client.post(GRAFANA, content=body, headers=signed(body))
    assert response.status_code == 202, response.text
    assert [a["result"] for a in response.json()["alerts"]] == ["created", "recorded"]


async def test_signed_body_with_a_fresh_timestamp_is_accepted(intake: Intake, payload: Payload) -> None:
    body = payload("grafana", "firing")
    response = await intake.client.post(GRAFANA, content=body, headers=signed(body, str(int(time.time()))))
    assert response.status_code == 202, response.text


async def test_bad_signatures_are_401_and_write_nothing(intake: Intake, payload: Payload) -> None:
    body = payload("grafana", "firing")
    stale = str(int(time.time()) - 360)
    attempts = [
        (body + b"\n", signed(body)),  # a changed byte
        (body, signed(body, secret="other")),  # the wrong secret
        (body, signed(body, stale)),  # a timestamp six minutes old
        (body, {**signed(body, str(int(time.time()))), "X-Grafana-Alerting-Signature-Timestamp": "1"}),
    ]
    for content, headers in attempts:
        response = await intake.client.post(GRAFANA, content=content, headers=headers)
        assert response.status_code == 401, response.text
    assert await intake.keys_written() == []
