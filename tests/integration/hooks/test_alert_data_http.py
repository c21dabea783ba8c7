"""URLs from alert annotations reach only allow-listed hosts; loopback recorders count what gets through."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.engine.types import Verdict
from bot.errors import InvalidInput
from tests.conftest import Serve
from tests.integration.hooks.alertdata import Recorder, alert_with, incident_for, responder_for


def storefront_runbook(follow_redirects: bool = False, allowed_hosts: list[str] | None = None) -> dict[str, Any]:
    """The demo runbook's storefront check, fed by the `storefront_url` annotation."""
    config = {"urls": ["${alert.annotations.storefront_url}"], "timeout_s": 3, "follow_redirects": follow_redirects}
    runbook: dict[str, Any] = {
        "diagnostics": [{"id": "storefront", "name": "Storefront", "type": "http_check", "config": config}]
    }
    if allowed_hosts is not None:
        runbook["allowed_hosts"] = allowed_hosts
    return runbook


def hostport(url: str) -> str:
    return httpx.URL(url).netloc.decode()


async def check_storefront(folder: Path, runbook: dict[str, Any], url: str, allowed: list[str]) -> Any:
    responder = responder_for(folder, runbook, http_allowed_hosts=allowed)
    alert = alert_with(annotations={"storefront_url": url})
    [result] = await responder.diagnose("alert-data", incident_for(alert), alert)
    return result


async def test_a_loopback_port_outside_the_allow_list_gets_nothing(serve: Serve, tmp_path: Path) -> None:
    allowed, forbidden = Recorder(), Recorder()
    allowed_url, forbidden_url = await serve(allowed.app()), await serve(forbidden.app())
    result = await check_storefront(tmp_path, storefront_runbook(), forbidden_url + "/health", [hostport(allowed_url)])
    assert result.status is Verdict.ERROR
    assert "alert annotation 'storefront_url'" in result.error and "not in HTTP_ALLOWED_HOSTS" in result.error
    assert forbidden.hits == []
    # The same check against the listed server does send its request: the recorder would see a leak.
    ok = await check_storefront(tmp_path, storefront_runbook(), allowed_url + "/health", [hostport(allowed_url)])
    assert ok.status is Verdict.HEALTHY, ok.error
    assert allowed.hits == ["GET /health"]


async def test_the_redis_port_is_refused_before_any_connection(tmp_path: Path) -> None:
    result = await check_storefront(tmp_path, storefront_runbook(), "http://127.0.0.1:6379/", ["127.0.0.1:8080"])
    assert result.status is Verdict.ERROR
    assert "host 127.0.0.1:6379 is not in HTTP_ALLOWED_HOSTS" in result.error
    # A wildcard that covers the port still does not open loopback: it must be listed without wildcards.
    wild = await check_storefront(tmp_path, storefront_runbook(), "http://127.0.0.1:6379/", ["*"])
    assert wild.status is Verdict.ERROR and "loopback address" in wild.error


async def test_the_runbook_allow_list_only_narrows(serve: Serve, tmp_path: Path) -> None:
    target = Recorder()
    url = await serve(target.app())
    narrowed = storefront_runbook(allowed_hosts=["storefront.example.com"])
    result = await check_storefront(tmp_path, narrowed, url, [hostport(url)])
    assert result.status is Verdict.ERROR and "not in the runbook's allowed_hosts" in result.error
    widened = storefront_runbook(allowed_hosts=["127.0.0.1", "*"])
    refused = await check_storefront(tmp_path, widened, url, ["storefront.example.com"])
    assert refused.status is Verdict.ERROR and "not in HTTP_ALLOWED_HOSTS" in refused.error
    assert target.hits == []


async def test_a_redirect_to_a_forbidden_port_is_never_followed(serve: Serve, tmp_path: Path) -> None:
    forbidden = Recorder()
    forbidden_url = await serve(forbidden.app())
    bouncer = Recorder(redirect_to=forbidden_url + "/inside")
    bouncer_url = await serve(bouncer.app())
    runbook = storefront_runbook(follow_redirects=True)
    result = await check_storefront(tmp_path, runbook, bouncer_url + "/start", [hostport(bouncer_url)])
    assert bouncer.hits == ["GET /start"]
    assert forbidden.hits == []
    assert result.value == 1  # one failing URL
    check = result.data["checks"][0]
    assert not check["ok"] and "redirect to" in check["error"] and "not in HTTP_ALLOWED_HOSTS" in check["error"]
    # Once the second server is listed too, the hop is followed: the guard, not luck, kept it out above.
    both = [hostport(bouncer_url), hostport(forbidden_url)]
    followed = await check_storefront(tmp_path, runbook, bouncer_url + "/start", both)
    assert followed.data["checks"][0]["ok"], followed.data
    assert forbidden.hits == ["GET /inside"]


async def test_a_notify_webhook_from_alert_data_outside_the_allow_list_is_never_posted(
    serve: Serve, tmp_path: Path
) -> None:
    receiver = Recorder()
    url = await serve(receiver.app())
    action = {"type": "notify", "config": {"text": "hi", "webhook_url": "${alert.annotations.hook}"}}
    step = {"id": "tell", "name": "Tell", "kind": "automated", "action": action, "safety": {"irreversible": True}}
    responder = responder_for(tmp_path, {"remediations": [step]}, http_allowed_hosts=["hooks.example.com"])
    alert = alert_with(annotations={"hook": url + "/post"})
    remediation = responder.runbook("alert-data").remediations[0]
    assert remediation.action is not None
    with pytest.raises(InvalidInput, match=r"alert annotation 'hook'.*not in HTTP_ALLOWED_HOSTS"):
        responder.prepare_action(remediation.action, incident_for(alert), alert)
    assert receiver.hits == []
