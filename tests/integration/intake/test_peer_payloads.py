"""Every peer payload in ../shared/payloads/peers (bodies other projects captured from each vendor) is accepted.

The folder sits beside the repository (CI checks it out there too); its files are not ours to copy in.
Each file is posted as-is over HTTP to a real webhook server over a real store, folder by folder in
name order, so a folder's resolve follows its fire.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from bot.connections import Redis
from bot.incidents.models import Status
from bot.incidents.store import IncidentStore
from bot.keys import Keys
from bot.settings import Settings
from tests.conftest import ROOT
from tests.integration.intake.conftest import AUTH, TOKEN, serve_guarded

PEERS = ROOT.parent / "shared" / "payloads" / "peers"
# PagerDuty's published test vector for 01 (go-pagerduty webhookv3_test.go): secret and signature header.
PD_VECTOR_SECRET = "lDQHScfUeXUKaQRNF+8XIiDKZ7XX3itBAYzwU0TARw8lJqRnkKl2iB1anSb0Z+IK"
PD_VECTOR_SIGNATURE = "v1=0c0b9495b893a39e70d1fea2fe11fbe0a825f88b9f67846f6cc07dd2bc5476cd"
SIGNED = {"pagerduty/01_go_pagerduty_priority_updated_signed.json"}

# (status, result) of each alert, per file; files not listed here fail the test until they are described.
EXPECTED: dict[str, list[tuple[str, str]]] = {
    "alertmanager/01_alertmanager_bot_firing.json": [("firing", "created")],
    "alertmanager/02_alertmanager_bot_resolved.json": [("resolved", "recorded")],
    "alertmanager/03_zulip_two_firing.json": [("firing", "created"), ("firing", "recorded")],
    "alertmanager/04_alerta_v4_firing.json": [("firing", "created")],
    "alertmanager/05_oncall_example_two_firing.json": [("firing", "created"), ("firing", "recorded")],
    "datadog/01_relay_default_payload_triggered.json": [("firing", "created")],
    "datadog/02_keep_capture_p2_recovered.json": [("resolved", "ignored")],
    "grafana/01_grafana_docs_two_firing.json": [("firing", "created"), ("firing", "recorded")],
    "grafana/02_zulip_grafana9_resolved.json": [("resolved", "ignored")],
    "grafana/03_grafana_alerting_default_payload_test.json": [("firing", "created")],
    "opsgenie/01_zulip_create.json": [("firing", "created")],
    "opsgenie/02_zulip_close.json": [("resolved", "ignored")],
    "pagerduty/01_go_pagerduty_priority_updated_signed.json": [],
    "pagerduty/02_zulip_incident_triggered.json": [("firing", "created")],
    "pagerduty/03_zulip_incident_resolved.json": [("resolved", "ignored")],
}


def peer_files() -> list[str]:
    """Every peer payload, as `source/name.json`, folder by folder in name order."""
    if not PEERS.is_dir():
        raise AssertionError(f"{PEERS} is missing: the repository's parent folder must hold shared/payloads")
    return sorted(str(path.relative_to(PEERS)) for path in PEERS.glob("*/*.json"))


@pytest.fixture
async def client(redis: Redis, keys: Keys) -> AsyncIterator[httpx.AsyncClient]:
    """A webhook server whose PagerDuty secret is the published test vector's."""
    settings = Settings(webhook_token=SecretStr(TOKEN), pagerduty_webhook_secret=SecretStr(PD_VECTOR_SECRET))
    server = await serve_guarded(settings, IncidentStore(redis, keys))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=10) as http:
            yield http
    finally:
        await server.stop()


def test_every_peer_file_has_an_expectation() -> None:
    files = peer_files()
    assert files, f"no payloads under {PEERS}"
    assert sorted(EXPECTED) == files


async def test_every_peer_payload_is_accepted_with_its_status(client: httpx.AsyncClient) -> None:
    seen: dict[str, list[tuple[str, str]]] = {}
    for name in peer_files():
        source = name.split("/", 1)[0]
        body = (PEERS / name).read_bytes()
        if name in SIGNED:
            headers = {"X-PagerDuty-Signature": PD_VECTOR_SIGNATURE, "Content-Type": "application/json"}
        else:
            headers = AUTH
        response = await client.post(f"/alerts/{source}", content=body, headers=headers)
        assert response.status_code == 202, f"{name}: {response.status_code} {response.text}"
        seen[name] = [(a["status"], a["result"]) for a in response.json()["alerts"]]
    assert seen == {name: EXPECTED.get(name) for name in seen}


async def test_signed_peer_payload_with_a_changed_byte_is_refused(client: httpx.AsyncClient) -> None:
    [name] = SIGNED
    body = bytearray((PEERS / name).read_bytes())
    body[-2] ^= 0x01
    headers = {"X-PagerDuty-Signature": PD_VECTOR_SIGNATURE, "Content-Type": "application/json"}
    response = await client.post("/alerts/pagerduty", content=bytes(body), headers=headers)
    assert response.status_code == 401


async def test_datadog_default_payload_recovery_resolves_its_incident(
    client: httpx.AsyncClient, redis: Redis, keys: Keys
) -> None:
    fired = json.loads((PEERS / "datadog" / "01_relay_default_payload_triggered.json").read_bytes())
    recovered = {
        **fired,
        "title": fired["title"].replace("[Triggered]", "[Recovered]"),
        "id": "5485379890863845999",  # every notification has its own event id
        "date": "1591217985000",
        "last_updated": "1591217985000",
    }
    opened = await client.post("/alerts/datadog", content=json.dumps(fired), headers=AUTH)
    incident = opened.json()["alerts"][0]["incident"]
    closed = await client.post("/alerts/datadog", content=json.dumps(recovered), headers=AUTH)
    assert closed.status_code == 202
    [result] = closed.json()["alerts"]
    assert (result["incident"], result["status"], result["result"]) == (incident, "resolved", "recorded")
    stored = await IncidentStore(redis, keys).get_incident_or_raise(incident)
    assert stored.status is Status.RESOLVED
