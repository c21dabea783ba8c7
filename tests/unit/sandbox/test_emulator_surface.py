"""The emulator covers the Slack the bot uses: every Web API method it names; views checked by slack-sdk models."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.incidents.models import Incident
from bot.sandbox.emulator.errors import SlackApiFailure
from bot.sandbox.emulator.state import Workspace
from bot.sandbox.emulator.webapi import METHODS, run_method
from bot.sandbox.emulator.workspace_seed import add_bot_user, seed_default_workspace
from bot.slack.declare_view import declare_modal
from bot.slack.followup_modal import followup_modal
from bot.slack.home import home_view
from bot.slack.update_modal import update_modal

BOT = Path(__file__).resolve().parents[3] / "bot"
# A quoted Web API method name: family.method[.more]; the families Slack has that the bot could call.
METHOD = re.compile(
    r'"((?:auth|bookmarks|canvases|chat|conversations|files|pins|reactions|usergroups|users|views)\.[A-Za-z.0-9]+)"'
)
# The gateway calls AsyncWebClient's method of the same name; these wrap several Web API calls.
COMPOSITE = {"files.upload.v2": ("files.getUploadURLExternal", "files.completeUploadExternal")}


def methods_the_bot_names() -> set[str]:
    found: set[str] = set()
    for path in BOT.rglob("*.py"):
        if "sandbox" not in path.parts:
            found |= set(METHOD.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_method_the_bot_names_is_a_client_method_the_emulator_implements() -> None:
    named = methods_the_bot_names()
    assert {"views.open", "views.publish", "conversations.canvases.create", "files.upload.v2"} <= named
    assert all(hasattr(AsyncWebClient, m.replace(".", "_")) for m in named), "the gateway dispatches by name"
    web_api = {call for m in named for call in COMPOSITE.get(m, (m,))}
    assert web_api - set(METHODS) == set()


def workspace() -> Workspace:
    ws = Workspace("T0EMULATOR", "runbook-sandbox", "A0EMULATOR", "U0RUNBOOKB", "B0RUNBOOKB")
    add_bot_user(ws)
    seed_default_workspace(ws)
    return ws


def open_view(ws: Workspace, view: dict[str, Any]) -> dict[str, Any]:
    return run_method(ws, "views.open", {"trigger_id": ws.issue_trigger("U0ALICE001"), "view": view})


def test_views_the_bot_builds_pass_and_a_view_slack_would_refuse_does_not() -> None:
    ws = workspace()
    incident = Incident(id="INC-1", number=1, title="db slow", triggered_at=datetime(2026, 11, 27, tzinfo=UTC))
    for view in (
        declare_modal(["api"], "prod", "U0ALICE001"),
        update_modal(incident),
        followup_modal(incident, "C0CHANNEL1"),
    ):
        assert open_view(ws, view)["view"]["callback_id"] == view["callback_id"]
    home = home_view([incident], None, datetime(2026, 11, 27, 1, tzinfo=UTC))
    assert run_method(ws, "views.publish", {"user_id": "U0ALICE001", "view": home})["view"]["type"] == "home"

    # slack-sdk's View model refuses a title over 24 characters; so does the emulator, as Slack would.
    too_long = {**followup_modal(incident, "C0CHANNEL1"), "title": {"type": "plain_text", "text": "x" * 25}}
    with pytest.raises(SlackApiFailure) as refused:
        open_view(ws, too_long)
    assert refused.value.error == "invalid_arguments"
    # And a block slack-sdk cannot parse.
    broken = {**update_modal(incident), "blocks": [{"type": "input", "label": "not an object"}]}
    with pytest.raises(SlackApiFailure):
        open_view(ws, broken)


def test_views_update_checks_the_hash_and_the_new_view() -> None:
    ws = workspace()
    incident = Incident(id="INC-1", number=1, title="db slow")
    opened = open_view(ws, update_modal(incident))["view"]
    replacement = followup_modal(incident, "C0CHANNEL1")
    with pytest.raises(SlackApiFailure) as stale:
        run_method(ws, "views.update", {"view_id": opened["id"], "hash": "stale", "view": replacement})
    assert stale.value.error == "hash_conflict"
    bad = {**replacement, "submit": {"type": "plain_text", "text": "y" * 25}}
    with pytest.raises(SlackApiFailure):
        run_method(ws, "views.update", {"view_id": opened["id"], "hash": opened["hash"], "view": bad})
    updated = run_method(ws, "views.update", {"view_id": opened["id"], "hash": opened["hash"], "view": replacement})
    assert updated["view"]["callback_id"] == replacement["callback_id"] and updated["view"]["hash"] != opened["hash"]
