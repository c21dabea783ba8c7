"""Refused deliveries: the right status and JSON error, and not one key written under the test prefix."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from bot.connections import make_client
from bot.incidents.store import IncidentStore
from bot.keys import Keys
from tests.integration.intake.conftest import AUTH, TOKEN, Intake, serve, settings

Payload = Callable[[str, str], bytes]
AM = "/alerts/alertmanager"


async def assert_nothing_written(intake: Intake) -> None:
    assert await intake.keys_written() == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "application/json"},
        {"Content-Type": "application/json", "Authorization": "Bearer wrong"},
        {"Content-Type": "application/json", "Authorization": f"Basic {TOKEN}"},
        {"Content-Type": "application/json", "X-PagerDuty-Signature": "v1=00"},
    ],
)
async def test_unauthenticated_is_401(intake: Intake, payload: Payload, headers: dict[str, str]) -> None:
    response = await intake.client.post(AM, content=payload("alertmanager", "firing"), headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"] == "unauthorized"
    await assert_nothing_written(intake)


async def test_invalid_json_is_400(intake: Intake) -> None:
    response = await intake.client.post(AM, content=b'{"version": "4", ', headers=AUTH)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_json"
    await assert_nothing_written(intake)


async def test_invalid_payload_is_400_naming_the_fields(intake: Intake, payload: Payload) -> None:
    response = await intake.client.post(AM, content=payload("alertmanager", "invalid"), headers=AUTH)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_payload"
    assert body["fields"] == ["status", "alerts.0.labels", "alerts.1.startsAt"]
    assert {e["field"] for e in body["errors"]} == set(body["fields"])
    await assert_nothing_written(intake)


async def test_half_valid_group_writes_nothing(intake: Intake, payload: Payload) -> None:
    body = json.loads(payload("alertmanager", "mixed_truncated"))
    body["alerts"][1]["startsAt"] = "not a time"
    response = await intake.client.post(AM, json=body, headers=AUTH)
    assert response.status_code == 400 and response.json()["fields"] == ["alerts.1.startsAt"]
    await assert_nothing_written(intake)


async def test_two_megabytes_is_413(intake: Intake) -> None:
    big = b'{"pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    response = await intake.client.post(AM, content=big, headers=AUTH)
    assert response.status_code == 413
    assert response.json() == {"error": "body_too_large", "message": "body is over 1048576 bytes", "limit": 1048576}
    await assert_nothing_written(intake)


async def test_chunked_body_over_the_limit_is_413(intake: Intake) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b"x" * 65536

    response = await intake.client.post(AM, content=chunks(), headers=AUTH)
    assert response.status_code == 413
    await assert_nothing_written(intake)


async def test_oversized_unauthenticated_is_413_first(intake: Intake) -> None:
    response = await intake.client.post(AM, content=b"x" * (1024 * 1024 + 1), headers={"Content-Type": "text/plain"})
    assert response.status_code == 413
    await assert_nothing_written(intake)


async def test_wrong_content_type_is_415(intake: Intake, payload: Payload) -> None:
    headers = {**AUTH, "Content-Type": "application/x-www-form-urlencoded"}
    response = await intake.client.post(AM, content=payload("alertmanager", "firing"), headers=headers)
    assert response.status_code == 415 and response.json()["error"] == "unsupported_media_type"
    await assert_nothing_written(intake)


async def test_charset_parameter_is_fine(intake: Intake, payload: Payload) -> None:
    headers = {**AUTH, "Content-Type": "application/json; charset=utf-8"}
    response = await intake.client.post(AM, content=payload("alertmanager", "firing"), headers=headers)
    assert response.status_code == 202


async def test_unknown_source_is_404_and_get_is_405(intake: Intake) -> None:
    missing = await intake.client.post("/alerts/nagios", content=b"{}", headers=AUTH)
    assert missing.status_code == 404
    assert "alertmanager" in missing.json()["sources"]
    get = await intake.client.get(AM, headers=AUTH)
    assert get.status_code == 405 and get.headers["Allow"] == "POST"
    await assert_nothing_written(intake)


async def test_store_down_is_503_with_retry_after(payload: Payload) -> None:
    # A real client to a port nothing listens on: the store raises StoreError as it would in production.
    dead = make_client("redis://127.0.0.1:1/0")
    runner, url = await serve(settings(), IncidentStore(dead, Keys(prefix="rbtest-dead")))
    try:
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            response = await client.post(AM, content=payload("alertmanager", "firing"), headers=AUTH)
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        assert response.json()["error"] == "store_unavailable"
    finally:
        await runner.cleanup()
        await dead.aclose()
