"""The two Slack app manifests (Socket Mode and HTTP mode) describe the same app."""

from __future__ import annotations

from typing import Any

import yaml

from bot.slack.http_mode import SLACK_PATH
from tests.conftest import ROOT

SLACK = ROOT / "deploy" / "slack"


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((SLACK / name).read_text())
    assert isinstance(data, dict)
    return data


def without_urls(value: Any, found: list[str]) -> Any:
    """The manifest with every `url` / `request_url` taken out (and collected into `found`)."""
    if isinstance(value, dict):
        kept = {}
        for key, item in value.items():
            if key in ("url", "request_url"):
                found.append(item)
            else:
                kept[key] = without_urls(item, found)
        return kept
    if isinstance(value, list):
        return [without_urls(item, found) for item in value]
    return value


def test_http_manifest_matches_the_socket_one_but_for_request_urls() -> None:
    socket, http = load("manifest.yaml"), load("manifest-http.yaml")
    assert socket["settings"]["socket_mode_enabled"] is True and http["settings"]["socket_mode_enabled"] is False
    urls: list[str] = []
    stripped = without_urls(http, urls)
    stripped["settings"]["socket_mode_enabled"] = True
    assert stripped == socket, "scopes, commands, shortcuts and events must be the same in both manifests"
    commands = len(http["features"]["slash_commands"])
    events = 1 if "event_subscriptions" in http["settings"] else 0
    assert len(urls) == commands + 1 + events, "every command, interactivity and events need a request URL"
    assert all(url.startswith("https://") and url.endswith(SLACK_PATH) for url in urls), urls
