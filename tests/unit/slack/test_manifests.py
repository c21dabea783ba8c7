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


def test_http_manifest_matches_the_socket_one_but_for_request_urls() -> None:
    socket, http = load("manifest.yaml"), load("manifest-http.yaml")
    assert http["oauth_config"] == socket["oauth_config"]
    assert http["settings"]["socket_mode_enabled"] is False and socket["settings"]["socket_mode_enabled"] is True
    commands = {c["command"]: {k: v for k, v in c.items() if k != "url"} for c in http["features"]["slash_commands"]}
    assert commands == {c["command"]: c for c in socket["features"]["slash_commands"]}
    urls = [c["url"] for c in http["features"]["slash_commands"]] + [http["settings"]["interactivity"]["request_url"]]
    assert all(url.startswith("https://") and url.endswith(SLACK_PATH) for url in urls), urls
