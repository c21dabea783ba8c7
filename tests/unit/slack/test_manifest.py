"""The Slack app manifest declares what the bot listens for: both shortcuts and the Home tab event."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.slack.declare import GLOBAL_SHORTCUT, MESSAGE_SHORTCUT

MANIFEST = Path(__file__).resolve().parents[3] / "deploy" / "slack" / "manifest.yaml"


def test_manifest_names_the_shortcuts_and_the_home_tab() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    shortcuts = {s["callback_id"]: s["type"] for s in manifest["features"]["shortcuts"]}
    assert shortcuts == {GLOBAL_SHORTCUT: "global", MESSAGE_SHORTCUT: "message"}
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert "app_home_opened" in manifest["settings"]["event_subscriptions"]["bot_events"]
